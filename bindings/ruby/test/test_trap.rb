# frozen_string_literal: true

require_relative "helper"
require "rbconfig"

# The acceptance cases of issue 8: a SIGCHLD trap that reaps with
# Process.waitpid2(-1), and a thread blocked in Process.wait(-1), while
# private children come and go.  No status is lost on either side.
class TestTrap < WardTest::Case
  PUBLIC_EVERY = 50

  # The shape of the Ruby proposal (Feature #19322): a trap that loops on
  # Process.waitpid2(-1) until ECHILD, recording what it reaps.
  def install_reaping_trap(reaped, runs)
    Signal.trap(:CHLD) do
      runs << 1
      loop do
        pid, status = Process.waitpid2(-1)
        reaped << [pid, status.exitstatus]
      rescue Errno::ECHILD
        break
      end
    end
  end

  # Starts n private children one at a time and waits for each; every
  # PUBLIC_EVERY-th iteration also starts one of the program's own children
  # (exit 3), which the trap is there to reap.  Returns [statuses, public pids].
  def spawn_loop(n)
    statuses = []
    publics = []
    n.times do |i|
      publics << Process.spawn("/bin/sh", "-c", "exit 3") if (i % PUBLIC_EVERY).zero?
      h = Process.spawn_private("/bin/sh", "-c", "exit 7")
      statuses << h.wait.exitstatus
    end
    [statuses, publics]
  end

  def check(reaped, runs, statuses, publics, n)
    with_timeout(20) { sleep 0.01 until reaped.size >= publics.size }
    assert_equal [7] * n, statuses, "a private child's status was lost"
    assert_equal publics.sort, reaped.map(&:first).sort, "the trap missed or stole a child"
    assert_equal [3], reaped.map(&:last).uniq, "the trap reaped a private child"
    # The trap runs only for the program's own children.
    assert_operator runs.size, :<=, publics.size
    assert_operator runs.size, :>=, 1
  end

  def test_acceptance_spawn_loop_in_a_thread
    reaped = []
    runs = []
    install_reaping_trap(reaped, runs)
    statuses, publics = Thread.new { spawn_loop(1000) }.value
    check(reaped, runs, statuses, publics, 1000)
  end

  def test_acceptance_spawn_loop_in_the_main_thread
    reaped = []
    runs = []
    install_reaping_trap(reaped, runs)
    statuses, publics = spawn_loop(300)
    check(reaped, runs, statuses, publics, 300)
  end

  def test_trap_never_runs_for_private_children
    runs = 0
    Signal.trap(:CHLD) { runs += 1 }
    200.times { Process.spawn_private("/bin/sh", "-c", "exit 0").wait }
    10.times { Process.fork_private { exit!(0) }.wait }
    trap(:CHLD) { runs += 1 } # Kernel#trap as well
    50.times { Process.spawn_private("true").wait }
    sleep 0.1
    assert_equal 0, runs
    pid = Process.spawn("true")
    with_timeout(10) { sleep 0.01 while runs.zero? }
    Process.wait(pid)
  end

  # Signal.trap answers with the handler it was given, never the wrapper,
  # and never nil for the strings (Ruby's own answers otherwise: it calls
  # an "IGNORE"d SIGCHLD "DEFAULT", its C handler being installed for both).
  def test_trap_returns_what_was_set
    handler = proc {}
    assert_kind_of String, Signal.trap(:CHLD, handler)
    assert_same handler, Signal.trap("SIGCHLD", "IGNORE")
    assert_kind_of String, Signal.trap(:CLD) { nil }
    assert_kind_of Proc, trap(:CHLD, "DEFAULT")
    assert_equal "DEFAULT", Signal.trap(Signal.list["CHLD"], "DEFAULT")
    assert_equal "DEFAULT", Signal.trap(:USR2, "DEFAULT") # other signals untouched
  end

  def test_guard_mode
    case WardTest::EXPECT_GUARD
    when "preload" then assert_equal :preload, Ward.guard
    when "linked" then assert_equal :linked, Ward.guard
    when "none" then assert_nil Ward.guard
    else skip "WARD_EXPECT_GUARD not set"
    end
    assert_equal Ward.library_path, Ward.guard_library if Ward.guard
  end

  # fork_private children run Ruby code and exit with a chosen status, with
  # a SIGCHLD trap and a thread blocked in Process.wait(-1) both active.
  def test_acceptance_fork_private_with_trap_and_waiting_thread
    trap_reaped = Queue.new
    Signal.trap(:CHLD) do
      loop do
        pid, status = Process.waitpid2(-1, Process::WNOHANG)
        break unless pid
        trap_reaped << [pid, status]
      rescue Errno::ECHILD
        break
      end
    end
    # A child of the program's own keeps Process.wait(-1) blocked.
    sleeper = Process.spawn("sleep", "60")
    thread_reaped = Queue.new
    waiter = Thread.new do
      loop do
        pid = Process.wait(-1)
        thread_reaped << [pid, $?]
        break if pid == sleeper
      rescue Errno::ECHILD
        break
      end
    end
    publics = []
    200.times do |i|
      publics << Process.spawn("/bin/sh", "-c", "exit 3") if (i % 25).zero?
      # Half exit at once (exit!), before the parent could do anything.
      h = Process.fork_private { i.odd? ? exit!((i * 7) % 256) : exit((i * 7) % 256) }
      assert_equal (i * 7) % 256, h.wait.exitstatus, "fork_private status lost"
    end
    Process.kill(:KILL, sleeper)
    with_timeout(20) { waiter.join }
    all = []
    all << thread_reaped.pop until thread_reaped.empty?
    all << trap_reaped.pop until trap_reaped.empty?
    with_timeout(10) do
      until (all.map(&:first) & (publics + [sleeper])).size == publics.size + 1
        all << trap_reaped.pop
      end
    end
    assert_equal (publics + [sleeper]).sort, all.map(&:first).sort
    assert_equal [3], all.reject { |pid, _| pid == sleeper }.map { |_, s| s.exitstatus }.uniq
  end

  def test_trap_installed_before_require
    script = <<~RUBY
      runs = 0
      Signal.trap(:CHLD) { runs += 1 }
      require "ward"
      100.times { Process.spawn_private("/bin/sh", "-c", "exit 2").wait.exitstatus == 2 or exit!(3) }
      sleep 0.1
      exit!(runs.zero? ? 0 : 4)
    RUBY
    dirs = $LOAD_PATH.select { |d| File.exist?("#{d}/ward.rb") || Dir.exist?("#{d}/ward") }
    args = dirs.flat_map { |d| ["-I", d] }
    h = Process.spawn_private(RbConfig.ruby, *args, "-e", script)
    assert_equal 0, with_timeout(60) { h.wait }.exitstatus
  end
end
