import RanktopModel
import RanktopProtocol

extension RunReport {
    /// The `--json` object. The fields the contract names come first; the rest are extras.
    public var json: JSONValue {
        .object([
            ("run", run.map(JSONValue.string) ?? .null),
            ("world", .int(world)),
            ("events", .int(events)),
            ("rejected", .int(rejected)),
            ("ranks", .array(ranks.map(\.json))),
            ("open_barriers", .array(openBarriers.map(\.json))),
            ("mismatches", .array(mismatches.map(\.json))),
            ("triggers", .array(triggers.map(\.json))),
            ("stragglers", .array(stragglers.map { s in
                .object([("rank", .int(s.rank)), ("wait_caused_s", .double(s.waitCaused)), ("times_last", .int(s.timesLast))])
            })),
            ("phases", .array(phases.map(\.json))),
            ("start_ts", startTs.map(JSONValue.double) ?? .null),
            ("end_ts", endTs.map(JSONValue.double) ?? .null),
            ("at_ts", at.map(JSONValue.double) ?? .null),
            ("nodes", .array(nodes.map(JSONValue.string))),
            ("silent_ranks", .ranks(silentRanks)),
            ("completed_barriers", .int(completedBarriers)),
            ("dropped", .int(droppedTotal)),
            ("collector_discarded", .int(collectorDiscarded)),
            ("other_runs", .array(otherRuns.map(JSONValue.string))),
            ("rejected_lines", .array(rejectedSamples.map { .object([("line", .int($0.line)), ("reason", .string($0.reason))]) })),
            ("diagnosis", .array(diagnosis.map(JSONValue.string))),
            ("open_collectives", .array(openCollectives.map(\.json))),
            ("collective_mismatches", .array(collectiveMismatches.map { entry in
                .object([
                    ("group", .string(entry.key.group)), ("seq", .int(entry.key.n)),
                    ("ops", .object(entry.ops.sorted { $0.key < $1.key }.map { ($0.key, .array($0.value.map(JSONValue.int))) })),
                ])
            })),
            ("stall", stall.map { s in
                .object([("since", .double(s.since)), ("step", s.step.map(JSONValue.int) ?? .null), ("ranks", .ranks(s.ranks))])
            } ?? .null),
            ("stacks", .array(stacks.map { entry in
                .object([
                    ("rank", .int(entry.rank)), ("ts", .double(entry.sample.ts)),
                    ("frames", .array(entry.sample.frames.map(JSONValue.string))),
                ])
            })),
            ("completed_collectives", .int(completedCollectives)),
            ("stop", stop.map { s in
                .object([
                    ("signal", .string(s.signal)), ("by", s.by.map(JSONValue.string) ?? .null),
                    ("reason", s.reason.map(JSONValue.string) ?? .null), ("ts", .double(s.ts)),
                    ("source", .string(s.afterFailure ? Stop.afterFailure : "user")),
                ])
            } ?? .null),
            ("scores", .array(scores.map { score in
                .object([
                    // Three decimals: a 0.1% difference in step time is noise, and 1.3999999999999773 says less than 1.4.
                    ("rank", .int(score.rank)), ("relative_step_time", score.relativeStepTime.map { .double(($0 * 1000).rounded() / 1000) } ?? .null),
                    ("wait_caused_s", .double(score.waitCaused)), ("wait_share", .double(score.waitShare)),
                ])
            })),
            ("health", .string(health)),
            ("collectors", .array(collectors.enumerated().map { index, session in
                let died = session.diedAt ?? (index == collectors.count - 1 && collectorGone && session.endedAt == nil ? endTs : nil)
                return .object([
                    ("pid", .int(session.pid)), ("node", .string(session.node)), ("start_ts", .double(session.startedAt)),
                    ("end_ts", session.endedAt.map(JSONValue.double) ?? .null), ("died_ts", died.map(JSONValue.double) ?? .null),
                ])
            })),
        ])
    }
}

extension RunReport.RankRow {
    var json: JSONValue {
        .object([
            ("rank", .int(rank)),
            ("state", .string(stateLabel)),
            ("step", step.map(JSONValue.int) ?? .null),
            ("barrier", barrier.map { b in
                .object([("n", .int(b.n)), ("name", b.name.map(JSONValue.string) ?? .null), ("since", .double(b.since))])
            } ?? .null),
            ("phase", phase.map(JSONValue.string) ?? .null),
            ("last_ts", .double(lastTs)),
            ("stalled", .bool(stalled)),
            ("collective", collective.map { c in
                .object([
                    ("group", .string(c.group)), ("seq", .int(c.n)), ("op", .string(c.op)),
                    ("label", c.label.map(JSONValue.string) ?? .null), ("since", .double(c.since)),
                    ("async", .bool(c.isAsync)),
                ])
            } ?? .null),
            ("node", node.map(JSONValue.string) ?? .null),
            ("total", total.map(JSONValue.int) ?? .null),
            ("dropped", .int(dropped)),
            ("restarts", .int(restarts)),
            ("exit_code", exitCode.map(JSONValue.int) ?? .null),
            ("error", error.map(JSONValue.string) ?? .null),
        ])
    }
}

extension RunReport.OpenBarrier {
    var json: JSONValue {
        .object([
            ("n", .int(n)),
            ("name", name.map(JSONValue.string) ?? .null),
            ("arrived", .array(arrived.map(JSONValue.int))),
            ("missing", .ranks(missing)),
            ("since", .double(since)),
            ("site", site.map(JSONValue.string) ?? .null),
        ])
    }
}

extension OpenCollective {
    var json: JSONValue {
        .object([
            ("group", .string(group)),
            ("seq", .int(n)),
            ("op", .string(op)),
            ("label", label.map(JSONValue.string) ?? .null),
            ("arrived", .array(arrived.map(JSONValue.int))),
            ("missing", missing.map(JSONValue.ranks) ?? .array([])),
            ("since", .double(since)),
            ("missing_count", .int(missingCount)),
            ("site", site.map(JSONValue.string) ?? .null),
            ("async", .bool(isAsync)),
        ])
    }
}

extension RunReport.Mismatch {
    var json: JSONValue {
        .object([
            ("n", .int(n)),
            ("names", .object(names.map { ($0.name, .array($0.ranks.map(JSONValue.int))) })),
        ])
    }
}

extension RunReport.TriggerRow {
    var json: JSONValue {
        .object([
            ("check", check.map(JSONValue.int) ?? .null),
            ("source", .string(source.rawValue)),
            ("rank", rank.map(JSONValue.int) ?? .null),
            ("id", id.map(JSONValue.string) ?? .null),
            ("reason", reason.map(JSONValue.string) ?? .null),
            ("ts", .double(ts)),
            ("step", step.map(JSONValue.int) ?? .null),
            ("by", by.map(JSONValue.string) ?? .null),
        ])
    }
}

extension RunReport.PhaseRow {
    var json: JSONValue {
        .object([
            ("name", .string(name)),
            ("mode", .string(mode.rawValue)),
            ("main_s", mainSeconds.map(JSONValue.double) ?? .null),
            ("others_s", othersSeconds.map(JSONValue.double) ?? .null),
            ("occurrence", .int(occurrence)),
            ("complete", .bool(complete)),
        ])
    }
}
