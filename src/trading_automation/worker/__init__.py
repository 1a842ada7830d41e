"""The daily open-job and the reconcile command (SPEC §3)."""
