"""The serving wing (numpy only): data plane, registry of loaded versions, serving policy,
top lists and request-level scoring."""
