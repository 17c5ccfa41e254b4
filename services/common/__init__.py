"""Infrastructure shared by the services: settings, Kafka, faust, HTTP, auth, logging, metrics."""
