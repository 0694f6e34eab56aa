"""The secure-ai-platform program: read the stack config once, tag everything, build the deployment.

The Pulumi language host runs this file with ``infra/`` as ``sys.path[0]``; the project is
installed into the virtualenv (infra/requirements.txt: ``-e ..``), so ``infra`` imports as a package.
"""

from infra.config import load_settings
from infra.deployments import build
from infra.tags import register_standard_tags

settings = load_settings()
register_standard_tags(settings)
build(settings)
