import Logging
import Testing

@testable import CTICore

@Suite struct SchedulerTests {
  let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

  func resolve(_ environment: [String: String], interval: String? = nil, legacy: Bool = false) throws -> Schedule {
    var warnings: [String] = []
    return try Schedule.resolve(
      Configuration(environment: environment), interval: interval, loopingDefault: 60,
      legacy: legacy ? Setting(env: "MISP_FEED_INTERVAL") : nil, legacyUnit: 60, warnings: &warnings)
  }

  @Test func settingsResolveAsPyctiReadsThem() throws {
    #expect(try resolve([:]) == .once, "a filter runs once by default")
    #expect(try resolve([:], interval: "PT5M").period == 300)
    #expect(try resolve([:], interval: "90").period == 90)
    #expect(try resolve([:], interval: "0") == .once)
    #expect(try resolve(["CONNECTOR_DURATION_PERIOD": "PT1H"]).period == 3600)
    #expect(try resolve(["CONNECTOR_DURATION_PERIOD": "PT1H", "CONNECTOR_RUN_AND_TERMINATE": "true"]) == .once)
    #expect(try resolve(["CONNECTOR_DURATION_PERIOD": "0", "CONNECTOR_RUN_AND_TERMINATE": "false"]) == .once, "pycti: 0 runs once")
    #expect(try resolve(["CONNECTOR_RUN_AND_TERMINATE": "false"]).period == 60, "the connector's own period")
    #expect(try resolve(["CONNECTOR_RUN_AND_TERMINATE": "true"], interval: "PT10S").period == 10, "the flag decides")
    #expect(try resolve(["MISP_FEED_INTERVAL": "5"], legacy: true).period == 300)
    #expect(try resolve(["MISP_FEED_INTERVAL": "5", "CONNECTOR_DURATION_PERIOD": "PT1M"], legacy: true).period == 60)
    #expect(throws: ConfigError.self) { try resolve([:], interval: "soon") }
    #expect(throws: ConfigError.self) { try resolve(["CONNECTOR_DURATION_PERIOD": "often"]) }
  }

  @Test func theWaitCountsFromTheEndOfARun() throws {
    let scheduler = Scheduler(schedule: Schedule(period: 0.2), logger: logger)
    var starts: [Double] = []
    try scheduler.run { number in
      starts.append(MonotonicClock.now())
      MonotonicClock.sleep(0.3)
      return number < 2 ? .again : .stop
    }
    #expect(starts.count == 2)
    #expect(starts[1] - starts[0] >= 0.5, "0.3 s of run, then the 0.2 s period")
    #expect(scheduler.runs == 2)
    #expect(scheduler.nextRun == nil, "the last run asked for no other")
    #expect(scheduler.summary?.hasPrefix("2 runs, the last started at ") == true)
  }

  @Test func aSingleRunHasNoSummary() throws {
    let scheduler = Scheduler(schedule: .once, logger: logger)
    var runs = 0
    try scheduler.run { _ in
      runs += 1
      return .again
    }
    #expect(runs == 1)
    #expect(scheduler.summary == nil)
  }
}
