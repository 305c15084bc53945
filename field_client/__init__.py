"""Offline field client for attendance officers: encrypted device store, sync engine, CLI."""
