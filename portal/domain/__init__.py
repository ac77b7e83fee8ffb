"""Pure domain logic: no Flask, no SQLAlchemy. Callers pass dates; nothing here reads the clock."""
