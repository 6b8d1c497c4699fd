"""HTTP and websocket endpoints. Thin: parse, authorize, call a service, shape the answer."""
