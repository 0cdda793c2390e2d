"""Thin Lambda handlers: parse and validate, call one function in shared_utils, map the result."""
