"""Model sets written in the styles of public SQLModel projects, dropped into a baked
project in place of the examples (tests/test_your_models.py). One folder a set, its
files copied into <package>/models/; EVOLUTIONS says how each set then changes."""
