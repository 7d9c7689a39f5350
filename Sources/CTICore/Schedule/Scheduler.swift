package import Logging

/// pycti's scheduling settings.
package enum ScheduleKeys {
  package static let durationPeriod = Setting(env: "CONNECTOR_DURATION_PERIOD", key: "connector.duration_period")
  package static let runAndTerminate = Setting(env: "CONNECTOR_RUN_AND_TERMINATE", key: "connector.run_and_terminate")
}

/// When a source runs: once, or again and again with a pause between runs. The official
/// connectors take this from `CONNECTOR_DURATION_PERIOD` (pycti's `schedule_iso`) unless
/// `CONNECTOR_RUN_AND_TERMINATE` is set; cti tools also take `--interval`.
package struct Schedule: Sendable, Equatable {
  /// Seconds between the end of a run and the start of the next; nil for a single run.
  package var period: Double?
  /// Where the period came from, for messages (`--interval`, `CONNECTOR_DURATION_PERIOD`…).
  package var origin: String?

  package init(period: Double? = nil, origin: String? = nil) {
    self.period = period
    self.origin = origin
  }

  package static let once = Schedule()

  package var isPeriodic: Bool { period != nil }

  /// Resolves a tool's schedule, as pycti's `schedule_process` reads its settings:
  /// - `--interval` decides when given (seconds or ISO-8601; 0 is a single run);
  /// - else `CONNECTOR_RUN_AND_TERMINATE=true` is a single run;
  /// - else `CONNECTOR_DURATION_PERIOD` (0 is a single run, as in pycti), then `legacy` (a
  ///   deprecated setting in `legacyUnit` seconds, reported through `warnings`);
  /// - else `CONNECTOR_RUN_AND_TERMINATE=false` runs every `loopingDefault` seconds (the
  ///   official connector's own period);
  /// - else a single run: a filter in a pipeline or under cron runs once by default.
  package static func resolve(
    _ configuration: Configuration, interval: String?, loopingDefault: Double, legacy: Setting? = nil,
    legacyUnit: Double = 1, warnings: inout [String]
  ) throws(ConfigError) -> Schedule {
    if let interval {
      guard let seconds = try configuration.duration(Setting(), flag: interval, default: nil), seconds >= 0 else {
        throw ConfigError("--interval must be a duration such as PT5M or 300 (0: a single run)", fromCommandLine: true)
      }
      return seconds > 0 ? Schedule(period: seconds, origin: "--interval") : .once
    }
    var runAndTerminate: Bool?
    if configuration.lookup(ScheduleKeys.runAndTerminate) != nil {
      runAndTerminate = try configuration.bool(ScheduleKeys.runAndTerminate, default: false)
    }
    if runAndTerminate == true { return .once }
    if let (_, source) = configuration.lookup(ScheduleKeys.durationPeriod) {
      guard let seconds = try configuration.duration(ScheduleKeys.durationPeriod, default: nil), seconds >= 0 else {
        throw ConfigError("\(source): the duration period must be 0 or more")
      }
      return seconds > 0 ? Schedule(period: seconds, origin: source) : .once
    }
    if let legacy, let (text, source) = configuration.lookup(legacy) {
      guard let amount = Double(text.trimmingSpaces), amount >= 0 else {
        throw ConfigError("\(source): '\(text)' is not a number")
      }
      warnings.append("\(source) is deprecated: use CONNECTOR_DURATION_PERIOD (ISO-8601, e.g. PT\(text.trimmingSpaces)M)")
      return amount > 0 ? Schedule(period: amount * legacyUnit, origin: source) : .once
    }
    if runAndTerminate == false {
      return Schedule(period: loopingDefault, origin: "CONNECTOR_RUN_AND_TERMINATE=false")
    }
    return .once
  }
}

/// What a run tells the scheduler.
package enum RunOutcome: Sendable, Equatable {
  /// Wait the period and run again (if the schedule is periodic).
  case again
  /// No further run (the output is closed, a `--strict` stop…).
  case stop
}

/// Runs a source on its `Schedule`, as pycti's scheduler does: a run, then a wait of the
/// period counted from the end of that run (pycti enters the next run in its `sched` queue
/// after the callback returns), then the next run. A stop signal during the wait ends it at
/// once; during a run, the run itself sees the signal and ends early. The times of the last
/// and next runs are kept for logs and summaries (and for pings where a tool pings).
package final class Scheduler {
  package let schedule: Schedule
  private let logger: Logger
  private let clock: () -> ISO8601.Instant
  /// Runs started so far.
  package private(set) var runs = 0
  /// When the last run started and ended; when the next one is due (nil when none is).
  package private(set) var lastRunStart: ISO8601.Instant?
  package private(set) var lastRunEnd: ISO8601.Instant?
  package private(set) var nextRun: ISO8601.Instant?
  /// The wait before the next run was cut short by a stop signal.
  package private(set) var stoppedWaiting = false

  package init(schedule: Schedule, logger: Logger, clock: @escaping () -> ISO8601.Instant = { .now }) {
    self.schedule = schedule
    self.logger = logger
    self.clock = clock
  }

  /// Calls `body` (with the run's number, from 1) once, or on every period until it returns
  /// `.stop` or a stop signal arrives.
  package func run(_ body: (Int) throws -> RunOutcome) throws {
    if let period = schedule.period {
      logger.info("running every \(Self.describe(period)) (\(schedule.origin ?? "schedule")); SIGTERM stops between runs")
    }
    while true {
      runs += 1
      lastRunStart = clock()
      nextRun = nil
      let outcome = try body(runs)
      lastRunEnd = clock()
      guard let period = schedule.period, outcome == .again, !StopSignals.requested else { return }
      let end = MonotonicClock.now()
      let due = Self.adding(period, to: lastRunEnd ?? clock())
      nextRun = due
      logger.info("run \(runs) done; next run at \(ISO8601.format(due, fractionDigits: 0))")
      let waited = MonotonicClock.sleep(max(0, end + period - MonotonicClock.now())) { StopSignals.requested }
      if !waited {
        stoppedWaiting = true
        return
      }
    }
  }

  /// A few words for a tool's summary: `2 runs, last at …; next was due at …`. Nil for a single
  /// run of a schedule that is not periodic.
  package var summary: String? {
    guard schedule.isPeriodic, let lastRunStart else { return nil }
    var text = "\(runs) run\(runs == 1 ? "" : "s"), the last started at \(ISO8601.format(lastRunStart, fractionDigits: 0))"
    if let nextRun { text += ", the next was due at \(ISO8601.format(nextRun, fractionDigits: 0))" }
    return text
  }

  static func adding(_ seconds: Double, to instant: ISO8601.Instant) -> ISO8601.Instant {
    let total = Double(instant.seconds) + Double(instant.nanoseconds) / 1e9 + seconds
    let whole = total.rounded(.down)
    return ISO8601.Instant(seconds: Int64(whole), nanoseconds: Int32((total - whole) * 1e9))
  }

  /// `300 s`, `PT5M` style text for messages: seconds below two minutes, else minutes/hours.
  static func describe(_ seconds: Double) -> String {
    if seconds < 120 || seconds.truncatingRemainder(dividingBy: 60) != 0 {
      return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
    let minutes = Int(seconds / 60)
    return minutes % 60 == 0 ? "\(minutes / 60) h" : "\(minutes) min"
  }
}
