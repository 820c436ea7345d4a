"""reports: the gate. Result files in; verdicts and reports out (docs/design.md#the-gates-data-flow,
docs/gate.md).

Operations
    judge(sources, policy, *, baseline=None, candidate=None, per_arm_files=False, name=None)
        -> Judgement                    rollout_guard: every check, the verdict
    evaluate(source, objectives) -> (outcomes, notes)
                                        assert_latency: absolute objectives per condition
    parse_objective(text) -> Objective  'candidate.ttft.p50 <= 5ms'
    load_policy(path=None) -> PolicyBook; book.for_track(track) -> Policy
    Source(name, document)              a validated result file (reports.cli.load_sources)
    Report(title, judgements, outcomes) what the renderers draw; .exit_code
    write_reports(report, out_dir=None) -> Path
                                        summary.md, report.html, junit.xml, verdict.json
    Verdict                             PROMOTE (exit 0), ROLLBACK (1), HOLD (3)
    PolicyError, ObjectiveError, ArmError   one-line input errors (exit 2)

Reads result files through `result_format` only; imports none of compat, server,
conformance, loadtests (an import-linter contract says so).
"""

from reports.assert_latency import Objective, ObjectiveError, Outcome, evaluate, parse_objective
from reports.cli import load_sources, write_reports
from reports.measurements import ArmError, Source
from reports.policy import Policy, PolicyBook, PolicyError, load_policy
from reports.report import Report
from reports.rollout_guard import Check, Judgement, judge
from reports.verdicts import Verdict

__all__ = [
    "ArmError",
    "Check",
    "Judgement",
    "Objective",
    "ObjectiveError",
    "Outcome",
    "Policy",
    "PolicyBook",
    "PolicyError",
    "Report",
    "Source",
    "Verdict",
    "evaluate",
    "judge",
    "load_policy",
    "load_sources",
    "parse_objective",
    "write_reports",
]
