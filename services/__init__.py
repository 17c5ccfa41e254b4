"""The four services of the spine second-opinion case router, and what they share."""
