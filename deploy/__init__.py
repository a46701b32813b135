"""Operator tools for a deployment: image digests for Terraform, the doctor, the smoke test.

Run on the operator's machine (``make push``, ``make doctor``, ``make smoke``); never shipped in the function image.
"""
