#!/bin/sh
# The tutorial's entry point: every task of the job goes here.
set -e
python3 /app/main.py
