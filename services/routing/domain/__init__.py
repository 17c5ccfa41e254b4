"""Pure routing domain: no faust, Kafka, HTTP or wall clock; `now` is always a parameter."""
