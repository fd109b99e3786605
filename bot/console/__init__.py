"""The hotline operator console: live queue, real-time conversations with citizens (issue #6, part B)."""
