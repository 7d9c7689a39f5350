import Foundation
import Testing

@testable import CTICore

/// What the pipeline's closures saw: how many conversions ran at once and how far fetching
/// ran ahead of the events handed back.
private final class Observations: @unchecked Sendable {
  private let lock = NSLock()
  private var running = 0
  private(set) var maxRunning = 0
  private(set) var fetched = 0
  private(set) var delivered = 0
  private(set) var maxAhead = 0

  func fetch() {
    lock.withLock {
      fetched += 1
      maxAhead = max(maxAhead, fetched - delivered)
    }
  }

  func deliver() { lock.withLock { delivered += 1 } }

  func converting<T>(_ body: () throws -> T) rethrows -> T {
    lock.withLock {
      running += 1
      maxRunning = max(maxRunning, running)
    }
    defer { lock.withLock { running -= 1 } }
    return try body()
  }
}

private struct MissingFile: Error {}

/// A conversion whose bundle is the event's bytes, after sleeping `milliseconds(bytes)`.
private func pipeline(
  events: Int, jobs: Int, window: Int? = nil, byteBudget: Int = 1 << 30, seen: Observations,
  file: @escaping @Sendable (Int) throws -> [UInt8] = { Array("event \($0)".utf8) },
  milliseconds: @escaping @Sendable (Int) -> Int = { _ in 0 }
) -> MISPEventPipeline {
  MISPEventPipeline(
    count: events, jobs: jobs, window: window, byteBudget: byteBudget,
    fetch: { index in
      seen.fetch()
      return try file(index)
    },
    convert: { bytes in
      try seen.converting {
        let index = Int(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).split(separator: " ").last!)!
        usleep(UInt32(milliseconds(index) * 1000))
        if index == 5 { throw MISPEventError("event 5 does not convert") }
        return MISPConversion(uuid: "\(index)", bundle: bytes, objectCounts: [:], notes: [])
      }
    })
}

/// Outcomes in the order `next()` gave them: the uuid, or the error's text.
private func drain(_ pipeline: MISPEventPipeline, _ seen: Observations) -> [String] {
  (0..<pipeline.count).map { _ in
    defer { seen.deliver() }
    switch pipeline.next() {
    case .success(let conversion): return conversion.uuid
    case .failure(let error as MISPEventError): return error.message
    case .failure(let error): return "\(type(of: error))"
    }
  }
}

@Suite struct MISPEventPipelineTests {
  static let expected = (0..<12).map { index in
    switch index {
    case 3: "MissingFile"
    case 5: "event 5 does not convert"
    default: "\(index)"
    }
  }

  static let file: @Sendable (Int) throws -> [UInt8] = { index in
    if index == 3 { throw MissingFile() }
    return Array("event \(index)".utf8)
  }

  @Test(arguments: [1, 2, 4])
  func outcomesComeBackInOrderWhateverFinishesFirst(jobs: Int) {
    let seen = Observations()
    // Early events are the slow ones, so later ones finish first.
    let events = pipeline(events: 12, jobs: jobs, seen: seen, file: Self.file) { max(0, 30 - 5 * $0) }
    #expect(drain(events, seen) == Self.expected)
    #expect(seen.maxRunning <= jobs)
  }

  @Test func oneJobConvertsOneEventAtATime() {
    let seen = Observations()
    let events = pipeline(events: 12, jobs: 1, seen: seen, file: Self.file) { _ in 1 }
    #expect(drain(events, seen) == Self.expected)
    #expect(seen.maxRunning == 1)
    #expect(seen.maxAhead == 1, "nothing is fetched before the previous event was handed back")
  }

  @Test func workersRunAheadOfASlowEventWithinTheWindow() {
    let seen = Observations()
    // Event 0 is slow; the other worker converts what follows, up to the window.
    let events = pipeline(events: 12, jobs: 2, window: 4, seen: seen, file: Self.file) { $0 == 0 ? 500 : 1 }
    #expect(drain(events, seen) == Self.expected)
    #expect(seen.maxAhead == 4)
    if ProcessInfo.processInfo.activeProcessorCount > 1 {
      #expect(seen.maxRunning == 2)
    }
  }

  @Test func fetchingStopsWhileTheFilesInFlightReachTheBudget() {
    let seen = Observations()
    // Each file is 1,000 bytes; with a budget of 2,500 at most three are held at once.
    let big: @Sendable (Int) throws -> [UInt8] = { index in
      Array("event \(index)".utf8) + [UInt8](repeating: 0, count: 1000 - "event \(index)".utf8.count)
    }
    let events = pipeline(events: 10, jobs: 4, byteBudget: 2500, seen: seen, file: big) { $0 == 0 ? 100 : 1 }
    let outcomes = drain(events, seen)
    #expect(outcomes.count == 10)
    #expect(outcomes[5] == "event 5 does not convert")
    #expect(seen.maxAhead == 3)
  }
}
