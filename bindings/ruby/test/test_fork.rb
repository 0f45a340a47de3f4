# frozen_string_literal: true

require_relative "helper"

# Process.fork_private: a forked child that runs Ruby and is private.
class TestFork < WardTest::Case
  def fork_h(&block)
    h = Process.fork_private(&block)
    @handles << h
    h
  end

  def test_exit_statuses
    assert_equal 42, fork_h { exit 42 }.wait.exitstatus
    assert_equal 0, fork_h { 1 + 1 }.wait.exitstatus
    assert_equal 5, fork_h { exit! 5 }.wait.exitstatus
    assert_equal 1, fork_h { $stderr.reopen(File::NULL); raise "boom" }.wait.exitstatus
    assert_equal 9, fork_h { Process.kill(:KILL, Process.pid) }.wait.termsig
    h = fork_h { exit false }
    refute h.wait.success?
  end

  def test_child_runs_ruby_code
    r, w = IO.pipe
    h = fork_h do
      r.close
      w.write((1..10).map { |i| i * i }.sum.to_s)
      w.close
      exit 17
    end
    w.close
    assert_equal "385", r.read
    r.close
    st = h.wait
    assert_equal 17, st.exitstatus
    assert_equal h.pid, st.pid
  end

  def test_without_block
    r, w = IO.pipe
    h = Process.fork_private
    if h.nil?
      r.close
      w.write(Process.pid.to_s)
      exit!(23)
    end
    @handles << h
    w.close
    assert_equal h.pid, r.read.to_i
    r.close
    assert_equal 23, h.wait.exitstatus
  end

  def test_at_exit_runs_in_child
    r, w = IO.pipe
    h = fork_h do
      r.close
      at_exit { w.write("at_exit") }
    end
    w.close
    assert_equal "at_exit", r.read
    r.close
    assert h.wait.success?
  end

  def test_private_fork_is_not_a_child_to_process_wait
    h = fork_h { exit 3 }
    sleep 0.1
    assert_raises(Errno::ECHILD) { Process.wait(h.pid) }
    assert_raises(Errno::ECHILD) { Process.wait }
    assert_equal 3, h.wait.exitstatus
  end

  def test_plain_fork_still_works
    pid = fork { exit 12 }
    assert_kind_of Integer, pid
    assert_equal pid, Process.wait(pid)
    assert_equal 12, $?.exitstatus
    assert_equal "x", IO.popen("-") { |io| io ? io.read : (print "x"; exit!(0)) }
  end

  module Hooks
    def _fork
      pid = super
      (pid.zero? ? $ward_child_hooks : $ward_parent_hooks) << pid if $ward_parent_hooks
      pid
    end
  end

  def test_fork_hooks_run
    Process.singleton_class.prepend(Hooks) unless Process.singleton_class < Hooks
    $ward_parent_hooks = []
    $ward_child_hooks = []
    r, w = IO.pipe
    h = fork_h { w.write($ward_child_hooks.inspect) }
    w.close
    assert_equal "[0]", r.read
    r.close
    assert_equal [h.pid], $ward_parent_hooks
    assert h.wait.success?
  ensure
    $ward_parent_hooks = $ward_child_hooks = nil
  end

  def test_handles_of_the_parent_in_the_child
    sleeper = spawn("sleep", "5")
    h = fork_h do
      code = 0
      begin
        sleeper.wait
        code = 1
      rescue Errno::ECHILD
        nil
      end
      # The child can have private children of its own.
      code = 2 unless Process.spawn_private("/bin/sh", "-c", "exit 4").wait.exitstatus == 4
      code = 3 unless Process.fork_private { exit 6 }.wait.exitstatus == 6
      exit! code
    end
    assert_equal 0, h.wait.exitstatus
    sleeper.kill(:KILL)
    sleeper.wait
  end

  def test_fork_with_threads_running
    stop = false
    th = Thread.new { Thread.pass until stop }
    h = fork_h { exit Thread.list.size }
    assert_equal 1, h.wait.exitstatus
    stop = true
    th.join
  end

  def test_many_forks_from_threads
    statuses = 4.times.map do |t|
      Thread.new { 10.times.map { |i| Process.fork_private { exit!(t * 10 + i) }.wait.exitstatus } }
    end.map(&:value)
    assert_equal (0...40).to_a, statuses.flatten.sort
  end

  def test_signal_mask_is_restored
    old = Signal.trap(:USR1) { @usr1 = true }
    fork_h { exit 0 }.wait
    Process.kill(:USR1, Process.pid)
    with_timeout(5) { sleep 0.01 until @usr1 }
    assert @usr1
    mask = File.read("/proc/thread-self/status")[/^SigBlk:\s*(\h+)/, 1].to_i(16)
    assert_equal 0, mask & (1 << (Signal.list["USR1"] - 1))
  ensure
    Signal.trap(:USR1, old || "DEFAULT")
  end
end
