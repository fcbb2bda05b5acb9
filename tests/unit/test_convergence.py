from controlroom.core.convergence import Weight, converge, fingerprint, normalise_snippet
from controlroom.core.model import Finding, Severity


def finding(
    agent="critic", rule="S307", line=3, snippet="    eval(x)", symbol="run", **kw
) -> Finding:
    return Finding(
        agent=agent,
        rule=rule,
        severity=kw.pop("severity", Severity.HIGH),
        path=kw.pop("path", "app.py"),
        line=line,
        message=kw.pop("message", "use of eval"),
        symbol=symbol,
        snippet=snippet,
        confidence=kw.pop("confidence", 0.6),
        **kw,
    )


def test_fingerprint_survives_line_moves_and_reindentation():
    assert fingerprint(finding(line=3)) == fingerprint(finding(line=40, snippet="eval(x)   "))
    assert fingerprint(finding(snippet="eval(x)  # noqa later")) == fingerprint(finding())


def test_fingerprint_changes_with_rule_path_symbol_or_code():
    base = fingerprint(finding())
    assert fingerprint(finding(rule="S102")) != base
    assert fingerprint(finding(path="other.py")) != base
    assert fingerprint(finding(symbol="other")) != base
    assert fingerprint(finding(snippet="eval(y)")) != base


def test_normalise_snippet():
    assert normalise_snippet("   a  =   b   # c") == "a = b"


def test_duplicates_merge_into_one_candidate():
    [only] = converge([finding(), finding(line=9)])
    assert len(only.findings) == 2 and only.agents == ["critic"]
    assert not only.consensus


def test_two_agents_on_one_fingerprint_is_high_confidence():
    [only] = converge([finding(agent="critic"), finding(agent="impact", confidence=0.4)])
    assert only.consensus and only.confidence >= 0.9
    assert only.agents == ["critic", "impact"]
    assert "critic:S + impact:S agree" in only.confidence_reason


def test_findings_sharing_a_symbol_are_not_consensus():
    """Old behaviour (the bug): unrelated findings on one function counted as agreement."""
    items = converge(
        [finding(agent="critic"), finding(agent="docs", rule="DOC101", snippet="def run():")]
    )
    assert not any(c.consensus for c in items)
    assert {c.confidence for c in items} == {0.6}
    assert "also on this symbol: DOC101" in items[0].confidence_reason + items[1].confidence_reason


def test_untested_and_undocumented_on_one_function_get_no_boost():
    untested = finding(agent="tests", rule="TEST001", snippet="def run():", confidence=0.6)
    undocumented = finding(agent="docs", rule="DOC100", snippet="def run():", confidence=0.6)
    alone = converge([untested])[0]
    both = converge([untested, undocumented])
    assert len(both) == 2
    for item in both:
        assert not item.consensus and item.confidence == 0.6
        assert item.priority == alone.priority


def test_two_agents_running_one_shared_detector_are_one_vote():
    critic = finding(agent="critic", rule="CR001", detector="n_plus_one", confidence=0.6)
    impact = finding(agent="impact", rule="CR001", detector="n_plus_one", confidence=0.6)
    [only] = converge([critic, impact])
    assert only.agents == ["critic", "impact"]
    assert not only.consensus and only.confidence == 0.6
    assert "one vote" in only.confidence_reason


def test_two_independent_detectors_on_one_problem_are_consensus():
    tests = finding(agent="tests", rule="TEST001", snippet="def run():", confidence=0.6)
    sweep = finding(agent="coverage_sweep", rule="COV100", snippet="def run():", confidence=0.55)
    [only] = converge([tests, sweep], sweep_agents={"coverage_sweep"})
    assert only.consensus and only.confidence >= 0.9
    assert only.rule == "TEST001" and only.agents == ["tests", "coverage_sweep"]


def test_default_detector_is_agent_and_rule_family():
    assert finding(agent="critic", rule="S307").detector == "critic:S"
    assert finding(agent="docs", rule="DOC100").detector == "docs:DOC"


def test_critical_means_review_now_and_sorts_first():
    items = converge(
        [
            finding(rule="T201", severity=Severity.LOW, snippet="print(x)", confidence=0.9),
            finding(severity=Severity.CRITICAL, confidence=0.3, symbol="other"),
        ]
    )
    assert items[0].review_now and items[0].severity is Severity.CRITICAL
    assert "review now" in items[0].confidence_reason
    assert not items[1].review_now


def test_single_agent_keeps_its_own_confidence():
    [only] = converge([finding(confidence=0.55)])
    assert only.confidence == 0.55
    assert only.confidence_reason == "critic confidence"


def test_learned_weights_move_confidence_both_ways():
    [neutral] = converge([finding()])
    [liked] = converge([finding()], {("critic", "S307"): Weight(approved=9, rejected=0)})
    [disliked] = converge([finding()], {("critic", "S307"): Weight(approved=0, rejected=9)})
    assert disliked.confidence < neutral.confidence < liked.confidence
    assert "learned from 9 approved / 0 rejected" in liked.confidence_reason
    assert disliked.priority <= neutral.priority <= liked.priority


def test_confidence_stays_in_unit_interval():
    [only] = converge([finding(confidence=1.0)], {("critic", "S307"): Weight(approved=100)})
    assert 0.0 <= only.confidence <= 1.0
