"""The `meshpipe` command line."""
