import Foundation

/// Feed events fetched in order on the caller's thread, parsed and converted on up to `jobs`
/// threads, and handed back in order by `next()`, so bundles are written and the state advanced
/// exactly as when converting one event at a time.
///
/// A feed's events differ in size by a thousand times, so workers run ahead of the event being
/// waited for, within limits that bound memory: at most `window` events fetched and not yet
/// handed back, and no new fetch while those files add up to `byteBudget` or more.
final class MISPEventPipeline: @unchecked Sendable {
  typealias Outcome = Result<MISPConversion, any Error>

  let count: Int
  let jobs: Int
  let window: Int
  let byteBudget: Int
  private let fetch: (Int) throws -> [UInt8]
  private let convert: @Sendable ([UInt8]) throws -> MISPConversion

  // Guarded by `condition`.
  private let condition = NSCondition()
  private var finished: [Int: Outcome] = [:]
  private var running = 0

  // The caller's thread only.
  private var started = 0
  private var delivered = 0
  private var sizes: [Int: Int] = [:]
  private var bytesInFlight = 0

  /// `fetch(i)` returns event `i`'s file; it runs on the caller's thread, in order. `convert`
  /// runs on the workers.
  init(
    count: Int, jobs: Int, window: Int? = nil, byteBudget: Int = 8 << 20, fetch: @escaping (Int) throws -> [UInt8],
    convert: @escaping @Sendable ([UInt8]) throws -> MISPConversion
  ) {
    self.count = count
    self.jobs = max(1, jobs)
    self.window = window ?? 4 * max(1, jobs)
    self.byteBudget = byteBudget
    self.fetch = fetch
    self.convert = convert
  }

  /// The outcome for the next event in order: its conversion, or why it was not fetched, parsed
  /// or converted.
  func next() -> Outcome {
    precondition(delivered < count, "no events left")
    let index = delivered
    if jobs == 1 {
      delivered += 1
      return Result { try convert(fetch(index)) }
    }
    while true {
      let mayStart = started < count && started - index < window && bytesInFlight < byteBudget
      condition.lock()
      while finished[index] == nil, !(mayStart && running < jobs) { condition.wait() }
      let outcome = finished.removeValue(forKey: index)
      if outcome == nil { running += 1 }
      condition.unlock()
      if let outcome {
        delivered += 1
        bytesInFlight -= sizes.removeValue(forKey: index) ?? 0
        return outcome
      }
      start(started)
      started += 1
    }
  }

  /// Fetches event `index` and hands it to a worker; the caller has counted it as running.
  private func start(_ index: Int) {
    let bytes: [UInt8]
    do {
      bytes = try fetch(index)
    } catch {
      finish(index, .failure(error))
      return
    }
    sizes[index] = bytes.count
    bytesInFlight += bytes.count
    let convert = convert
    // A thread of its own per event (a few tens of microseconds, against milliseconds to
    // seconds of converting): the work never waits for a shared pool.
    let worker = Thread { [self] in finish(index, Result { try convert(bytes) }) }
    worker.stackSize = 16 << 20
    worker.start()
  }

  private func finish(_ index: Int, _ outcome: Outcome) {
    condition.lock()
    finished[index] = outcome
    running -= 1
    condition.broadcast()
    condition.unlock()
  }

  /// Threads to convert on by default: the processors this process may use, at most four
  /// (beyond that memory grows faster than throughput).
  static var defaultJobs: Int { min(MISPRun.maxDefaultJobs, max(1, ProcessInfo.processInfo.activeProcessorCount)) }
}
