"""The customers rules, table by table (no database)."""
