"""The run-time checks, one module per area; importing this package registers them all."""

from audit.checks import ec2, ecr, eks, governance, kms, s3

__all__ = ["ec2", "ecr", "eks", "governance", "kms", "s3"]
