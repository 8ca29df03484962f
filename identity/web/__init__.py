"""The hub's HTTP endpoints, one module each; ``identity.app.create_app`` wires them."""
