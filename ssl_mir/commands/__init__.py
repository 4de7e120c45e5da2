"""The `ssl-mir` commands, one module per family; `ssl_mir.cli` imports only the module of the command it runs."""
