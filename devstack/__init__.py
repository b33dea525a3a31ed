"""Local development stack: emulator provisioning, event pump and `make run` (not deployed)."""
