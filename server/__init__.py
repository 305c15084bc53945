"""The CME case register server: policy workflow, statutory calendar, roles, audit and the sync API."""
