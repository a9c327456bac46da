"""The closed-loop demo (`wildhands-demo`)."""
