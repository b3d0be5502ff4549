"""A pass killed with SIGKILL mid-extraction, mid-clustering or just after a channel took an alert loses nothing.

The smoke version of bench/crash.py (which kills at over a hundred points): three kills at the points
where a crash is most likely to lose or repeat something, each followed by a rerun, compared with a
clean run of the same loopback corpus.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from bench.crash import Harness, Webhook, build_site
from bench.loopback_site import LoopbackSite
from newsmon.app.demo.smtp_sink import SmtpSink


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the harness watches process groups in /proc")
@pytest.mark.timeout(600)
def test_killed_passes_rerun_to_the_clean_result_with_repeats_only_where_a_channel_took_the_alert(tmp_path):
    hook = Webhook()
    try:
        with LoopbackSite(3) as site, SmtpSink() as smtp:
            harness = Harness(tmp_path, build_site(site, 8, []), 2, smtp, hook)
            clean = harness.clean_run()
            for point in ("extracted", "clustering", "delivered"):
                harness.trial(kill_at=f"{point}:{max(1, harness.passes[point] // 2)}")
    finally:
        hook.close()
    tally = harness.tally
    assert sum(tally.kills.values()) == 3, tally
    assert len(clean.documents) > 10 and len(clean.sent) > 5
    assert (tally.lost_documents, tally.duplicate_documents, tally.cluster_differences, tally.lost_alerts) == (0, 0, 0, 0)
    assert sum(tally.lost_deliveries.values()) == 0 and tally.problems == []
    # The kill right after a channel took an alert makes that channel get it again, with the same key and content.
    assert sum(tally.repeats.values()) >= 1
    assert sum(tally.repeats_unexplained.values()) == 0 and sum(tally.repeats_differing.values()) == 0
    assert tally.leftovers == 0
