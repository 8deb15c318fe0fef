"""Sales' use cases, a module per subject (plain Python over a unit of work): import the subject's
module, ``from services.sales.application import orders``."""
