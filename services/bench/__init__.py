"""Benchmarks, run by `appeal bench`; nothing else imports them."""
