"""``python -m preflight``: exit codes, every report format, --all, --output and --render-k8s."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from preflight import cli

FIXTURES = Path(__file__).parent / "fixtures"
BASIC = FIXTURES / "basic"
TEST_PACK = FIXTURES / "packs" / "test-pack"
PASS_PACK = FIXTURES / "packs" / "pass-pack"
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
KUBERNETES_VERSION = "1.31"


def run(*argv: str | Path, cwd: Path = BASIC, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    code = cli.run([str(arg) for arg in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_exit_0_when_nothing_mandatory_is_violated(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run("dev", "--policy-pack", PASS_PACK, monkeypatch=monkeypatch)
    assert code == 0
    assert out.splitlines()[-1].startswith("Summary: 15 resources; 0 mandatory, 0 advisory, 0 waived, 0 policy errors")


def test_exit_1_on_mandatory_violations_and_policy_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run("dev", "--policy-pack", TEST_PACK, monkeypatch=monkeypatch)
    assert code == 1
    assert "[mandatory] required-tags  (aws:ec2/vpc:Vpc::main)" in out
    assert "[error] raising-policy  (aws:ec2/vpc:Vpc::main)" in out
    assert "policy raised: boom on main" in out
    assert "├─ fixture:index:Tenant" in out
    assert "│  ├─ aws:kms/key:Key" in out
    assert "Traceback" not in out


def test_exit_2_when_the_program_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run("dev", "--policy-pack", PASS_PACK, cwd=FIXTURES / "raising", monkeypatch=monkeypatch)
    assert code == 2
    assert "__main__.py:7: KeyError: 'beta'" in err
    assert "Traceback" not in err + out


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run("dev", "--debug", "--policy-pack", PASS_PACK, cwd=FIXTURES / "raising", monkeypatch=monkeypatch)
    assert code == 2
    assert "Traceback (most recent call last)" in err


def test_exit_2_for_a_stack_file_with_bad_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run("dev", "--policy-pack", PASS_PACK, cwd=FIXTURES / "broken-config", monkeypatch=monkeypatch)
    assert code == 2
    assert "stacks/Pulumi.dev.yaml:4: invalid YAML" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope", "--policy-pack", str(PASS_PACK)], "no stack file for 'nope'"),
        ([], "name a STACK, or use --all"),
        (["dev", "--policy-pack", "/nonexistent"], "not a policy pack"),
        (["dev", "prod", "--stack-config", "x.yaml"], "--stack-config applies to one stack only"),
        (["--all", "dev"], "--all takes no STACK"),
    ],
)
def test_exit_2_for_usage_errors(argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(*argv, monkeypatch=monkeypatch)
    assert code == 2
    assert message in err


def test_json_report(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run("dev", "--format", "json", "--policy-pack", TEST_PACK, monkeypatch=monkeypatch)
    assert code == 1
    report = json.loads(out)
    assert set(report) >= {"project", "stack", "mode", "resources", "policies", "violations", "summary"}
    assert (report["project"], report["stack"], report["mode"]) == ("fixture-basic", "dev", "first-preview")
    assert set(report["resources"][0]) == {"urn", "type", "name", "parent", "custom", "props"}
    assert {"pack", "name", "kind", "enforcementLevel"} == set(report["policies"][0])
    assert set(report["violations"][0]) == {"pack", "policy", "enforcementLevel", "urn", "message", "waiver"}
    summary = report["summary"]
    assert (summary["resources"], summary["mandatory"], summary["advisory"], summary["waived"], summary["errors"]) == (
        15,
        9,
        2,
        1,
        1,
    )
    waived = [v for v in report["violations"] if v["waiver"]]
    assert waived[0]["waiver"] == {"reason": "demo data", "owner": "team-beta", "expires": "2030-01-01"}
    parameter = next(r for r in report["resources"] if r["name"] == "db-password")
    assert parameter["props"]["value"] == "[secret]"
    subnet = next(r for r in report["resources"] if r["name"] == "private-a")
    assert subnet["props"]["vpcId"] == "[unknown]"
    assert "preflight-secret" not in out


def test_all_previews_every_stack_and_ends_with_a_line_per_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run("--all", "--format", "json", "--policy-pack", PASS_PACK, monkeypatch=monkeypatch)
    assert code == 0
    assert [doc["stack"] for doc in json.loads(out)] == ["dev", "prod"]
    code, out, _ = run("--all", "--policy-pack", PASS_PACK, monkeypatch=monkeypatch)
    last = out.rstrip().splitlines()[-3:]
    assert last[0] == "Stacks:"
    assert last[1].startswith("    dev: passed: 15 resources, 0 mandatory")
    assert last[2].startswith("    prod: passed: 11 resources, 0 mandatory")


def test_sarif_report_validates_against_the_sarif_schema(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    output = tmp_path / "preflight.sarif"
    code, out, _ = run(
        "dev", "prod", "--format", "sarif", "--output", output, "--policy-pack", TEST_PACK, monkeypatch=monkeypatch
    )
    assert code == 1
    assert out.splitlines()[0].startswith("dev: FAILED")
    log = json.loads(output.read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    [sarif_run] = log["runs"]
    rules = [rule["id"] for rule in sarif_run["tool"]["driver"]["rules"]]
    assert len(rules) == len(set(rules)) == 10
    results = sarif_run["results"]
    location = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] in ("stacks/Pulumi.dev.yaml", "stacks/Pulumi.prod.yaml")
    assert all("Resource: urn:pulumi:" in r["message"]["text"] for r in results)
    suppressed = [r for r in results if "suppressions" in r]
    assert suppressed
    assert suppressed[0]["suppressions"][0]["justification"].startswith("demo data")
    notifications = sarif_run["invocations"][0]["toolExecutionNotifications"]
    assert any("raising-policy" in n["message"]["text"] for n in notifications)


def test_markdown_report(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run("dev", "--format", "markdown", "--policy-pack", TEST_PACK, monkeypatch=monkeypatch)
    assert code == 1
    assert out.startswith("### preflight: ❌ blocked")
    assert "| `dev` | ❌ | 15 | 9 | 2 | 1 | 1 |" in out
    assert "**required-tags** on `aws:ec2/vpc:Vpc::main`: missing tags: owner" in out


def test_exact_mode_from_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = run("dev", "--format", "json", "--policy-pack", TEST_PACK, monkeypatch=monkeypatch)
    exact = run("dev", "--format", "json", "--exact", "--policy-pack", TEST_PACK, monkeypatch=monkeypatch)
    assert fast[0] == exact[0] == 1
    assert json.loads(fast[1])["violations"] == json.loads(exact[1])["violations"]


def test_policy_pack_config_file_per_pack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "relaxed.json"
    config.write_text(json.dumps({"all": "advisory", "bucket-name-prefix": {"prefix": "a"}}))
    code, out, _ = run(
        "dev", "--format", "json", "--policy-pack", TEST_PACK, "--policy-pack-config", config, monkeypatch=monkeypatch
    )
    summary = json.loads(out)["summary"]
    assert summary["mandatory"] == 0
    assert summary["errors"] == 1
    assert code == 1


def test_render_k8s_writes_objects_that_validate_strictly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, _, _ = run(
        "dev", "--render-k8s", tmp_path, "--policy-pack", PASS_PACK, cwd=FIXTURES / "k8s", monkeypatch=monkeypatch
    )
    assert code == 0
    files = sorted(path.name for path in (tmp_path / "dev").iterdir())
    assert files[:3] == [
        "deployment_tenant-alpha_inference.yaml",
        "namespace_tenant-alpha.yaml",
        "networkpolicy_tenant-alpha_default-deny.yaml",
    ]
    assert files[3].startswith("resourcequota_tenant-alpha_quota-")
    for path in (tmp_path / "dev").iterdir():
        document = yaml.safe_load(path.read_text())
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    quota = yaml.safe_load((tmp_path / "dev" / files[3]).read_text())
    assert quota["metadata"]["annotations"] == {"pulumi.com/autonamed": "true"}


def test_python_dash_m_preflight_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "preflight", "dev", "--format", "json", "--policy-pack", str(PASS_PACK)],
        cwd=BASIC,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["resources"] == 15
