"""The secure-ai-platform Pulumi program (package ``infra``)."""
