"""Programs and their eligibility rules, kept as data (``programs.toml``): the facts a
rule reads, the rule kinds, and the loader. Pure: no SQLAlchemy, no Flask."""
