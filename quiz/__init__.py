"""quiz: a terminal trainer that grades every answer by running the code."""

__version__ = "0.1.0"
