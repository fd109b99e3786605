"""The channels citizens reach the gateway through; each turns its own format into router calls."""
