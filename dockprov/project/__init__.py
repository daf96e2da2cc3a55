"""Generate, validate and plan a self-contained Ansible project for a fleet (`dockprov init/validate/plan`)."""
