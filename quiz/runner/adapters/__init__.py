"""One adapter per backend: import the framework, build a card's namespace, normalise results."""
