"""One module per tab of the page: its endpoints (named as the API names them) and its build(ctx)."""
