"""Developer and operator commands, run by the Makefile (`make help`)."""
