"""Deployment ``bootstrap``: the Pulumi state bucket and the ``awskms://`` secrets key (stacks ``bootstrap-<env>``).

The first stack of every account (infra.deploy_order), created with a local backend and the passphrase
secrets provider because the bucket and key it creates do not exist yet, then migrated into its own bucket
and onto its own key (docs/bootstrap.md). Every other stack of the account keeps its state in the bucket and
its secrets under the key. Nothing here names a role: it runs before the account baseline creates any
(infra.components.state_backend).

Stack outputs: ``stateBucketName``, ``stateKeyArn``, ``secretsKeyArn``, ``secretsKeyAlias``, and exactly what
the CLI takes: ``backendUrl`` (``pulumi login``) and ``secretsProvider`` (``--secrets-provider``).
"""

from __future__ import annotations

import pulumi

from infra.components import state_backend
from infra.components.state_backend import STACK_SECRETS, STATE, StateBackend, StateBackendArgs
from infra.config import Settings


def build(settings: Settings) -> None:
    backend = StateBackend("state", StateBackendArgs(settings))
    pulumi.export("stateBucketName", backend.bucket.bucket)
    pulumi.export("stateKeyArn", backend.keys[STATE].arn)
    pulumi.export("secretsKeyArn", backend.keys[STACK_SECRETS].arn)
    pulumi.export("secretsKeyAlias", backend.aliases[STACK_SECRETS].name)
    pulumi.export("backendUrl", state_backend.backend_url(settings))
    pulumi.export("secretsProvider", state_backend.secrets_provider_url(settings))
