"""The benchmark's workloads and measurements, on a two-tenant synthetic program (fast)."""

from __future__ import annotations

from pathlib import Path

import yaml

from preflight import bench


def test_synthetic_workload_runs_under_both_measurements(tmp_path: Path) -> None:
    program, stack_file, stack = bench._workload(tmp_path, tmp_path, 2)
    assert stack == "bench-2"
    assert yaml.safe_load(stack_file.read_text())["config"]["preflight-bench:tenants"] == [
        {"name": "t000"},
        {"name": "t001"},
    ]
    measured = bench._measure_preflight(program, stack_file, stack, [])
    baseline = bench._measure_baseline(program, stack_file, stack)
    # preflight also records the default AWS provider the engine creates; plain mocks register none
    assert measured["resources"] == baseline["resources"] + 1
    assert measured["resources"] > 2 * 25
    assert measured["program_seconds"] > 0
    assert measured["policy_cpu_seconds"] < 0.1


def test_reference_workload_replaces_the_tenants_of_the_reference_stack(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text("name: demo\nruntime: python\nstackConfigDir: stacks\n")
    (project / "__main__.py").write_text("")
    (project / "stacks" / "Pulumi.platform-dev.yaml").write_text(
        "config:\n  aws:region: us-east-1\n  demo:tenants:\n    - name: only\n"
    )
    program, stack_file, stack = bench._workload(project, tmp_path, 3)
    config = yaml.safe_load(stack_file.read_text())["config"]
    assert program == project.resolve()
    assert config["aws:region"] == "us-east-1"
    assert [tenant["name"] for tenant in config["demo:tenants"]] == ["t000", "t001", "t002"]
    assert stack == "bench-3"


def test_table_has_a_row_per_size() -> None:
    row = {
        "tenants": 10,
        "resources": 500,
        "preflight_seconds": 2.0,
        "program_seconds": 1.5,
        "policy_seconds": 0.5,
        "baseline_seconds": 1.6,
        "ratio": 1.25,
        "preflight_cpu_seconds": 1.9,
        "baseline_cpu_seconds": 1.5,
        "cpu_ratio": 1.27,
        "program_cpu_seconds": 1.4,
        "policy_cpu_seconds": 0.5,
        "program_cpu_ratio": 0.93,
        "peak_rss_mb": 300.0,
    }
    lines = bench.table([row, {**row, "tenants": 100}]).splitlines()
    assert len(lines) == 4
    assert lines[2] == "| 10 | 500 | 2.0 (1.5 + 0.5) | 1.6 | 1.25 | 1.9 (1.4 + 0.5) | 1.5 | 1.27 (0.93) | 300 |"
    assert "cores" in bench.machine()
