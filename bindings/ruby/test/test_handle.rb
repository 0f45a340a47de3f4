# frozen_string_literal: true

require_relative "helper"

# Process::PrivateHandle: pid, wait, wait_nonblock, kill, terminate, to_io.
class TestHandle < WardTest::Case
  def test_pid_is_the_child
    r, w = IO.pipe
    h = spawn("/bin/sh", "-c", "echo $$", out: w)
    w.close
    assert_equal h.pid, r.read.to_i
    r.close
    h.wait
    assert_equal h.pid, h.pid
  end

  def test_wait_returns_the_same_status_object
    h = spawn("/bin/sh", "-c", "exit 3")
    st = h.wait
    assert_same st, h.wait
    assert_same st, h.wait_nonblock
    assert_same st, h.status
    assert h.reaped?
    assert_equal 3, st.exitstatus
  end

  def test_wait_sets_last_status
    h = spawn("/bin/sh", "-c", "exit 5")
    st = h.wait
    assert_same st, $?
    assert_same st, h.wait
    assert_equal st, $?
  end

  def test_wait_from_many_threads
    h = spawn("/bin/sh", "-c", "sleep 0.2; exit 9")
    statuses = 10.times.map { Thread.new { h.wait } }.map(&:value)
    statuses.each { |s| assert_same statuses.first, s }
    assert_equal 9, statuses.first.exitstatus
  end

  def test_wait_with_timeout
    h = spawn("sleep", "5")
    t = Time.now
    assert_nil h.wait(0.1)
    assert_operator Time.now - t, :>=, 0.09
    refute h.reaped?
    assert_nil h.status
    h.kill(:KILL)
    assert_equal 9, h.wait(10).termsig
    assert_raises(ArgumentError) { h.wait(-1) }
  end

  def test_wait_nonblock
    h = spawn("/bin/sh", "-c", "read x; exit 2", in: File::NULL) # ends at once
    h2 = spawn("sleep", "5")
    st = h2.wait_nonblock
    assert_kind_of Process::Status, st
    refute st.exited?
    refute st.signaled?
    refute st.stopped?
    refute st.coredump?
    assert_nil st.exitstatus
    assert_nil st.success?
    assert_equal h2.pid, st.pid
    assert_match(/running/, st.inspect)
    refute h2.reaped?
    h2.kill(:TERM)
    final = h2.wait
    assert_same final, h2.wait_nonblock
    assert_equal 15, final.termsig
    assert_equal 2, h.wait.exitstatus
  end

  def test_kill_forms
    %w[TERM SIGTERM].map(&:itself).push(:TERM, 15).each do |sig|
      h = spawn("sleep", "5")
      assert_equal 1, h.kill(sig)
      assert_equal 15, h.wait.termsig
    end
    h = spawn("sleep", "5")
    assert_equal 1, h.kill(0)
    assert_raises(ArgumentError) { h.kill(:NOSUCH) }
    assert_raises(ArgumentError) { h.kill(:EXIT) }
    assert_raises(ArgumentError) { h.kill(1.5) }
    assert_raises(Errno::EINVAL) { h.kill(-15) } # not a group leader
    h.kill("KILL")
    assert h.wait.signaled?
  end

  def test_kill_after_reaping_is_esrch
    h = spawn("true")
    h.wait
    e = assert_raises(Errno::ESRCH) { h.kill(:TERM) }
    assert_match(/reaped/, e.message)
    assert_raises(Errno::ESRCH) { h.kill(0) }
  end

  def test_kill_process_group
    r, w = IO.pipe
    h = spawn("/bin/sh", "-c", "sleep 30 & echo $!; wait", pgroup: true, out: w)
    w.close
    grandchild = r.gets.to_i
    r.close
    assert_equal h.pid, Process.getpgid(grandchild)
    h.kill(-15)
    assert_equal 15, h.wait.termsig
    with_timeout(5) do
      sleep 0.01 while File.exist?("/proc/#{grandchild}") && !File.read("/proc/#{grandchild}/stat").split[2].eql?("Z")
    end
  end

  def test_terminate
    h = spawn("sleep", "5")
    assert_equal 15, h.terminate(5).termsig

    # A child that ignores SIGTERM gets SIGKILL after the grace period.
    h = spawn("/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done", out: IO.pipe.then { |r, w| @r = r; w })
    @r.gets
    t = Time.now
    st = h.terminate(0.3)
    assert_equal 9, st.termsig
    assert_operator Time.now - t, :>=, 0.25
    @r.close

    # An ended child is not signalled; its status comes back.
    h = spawn("/bin/sh", "-c", "exit 6")
    sleep 0.05
    assert_equal 6, h.terminate.exitstatus
    assert_same h.wait, h.terminate(0)
    assert_raises(ArgumentError) { spawn("true").terminate(-1) }
  end

  def test_terminate_group
    r, w = IO.pipe
    h = spawn("/bin/sh", "-c", "trap '' TERM; sleep 30 & echo $!; wait", pgroup: true, out: w)
    w.close
    grandchild = r.gets.to_i
    r.close
    assert_equal 9, h.terminate(0.2).termsig
    # SIGKILL went to the whole group: the grandchild is gone too.
    with_timeout(5) { sleep 0.01 while File.exist?("/proc/#{grandchild}") && File.read("/proc/#{grandchild}/stat").split[2] != "Z" }
  end

  def test_to_io
    h = spawn("/bin/sh", "-c", "sleep 0.2; exit 4")
    if Ward.backend == "posix"
      assert_raises(NotImplementedError) { h.to_io }
      h.wait
      return
    end
    io = h.to_io
    assert_kind_of IO, io
    assert_same io, h.to_io
    assert io.close_on_exec?
    refute h.reaped?
    ready, = IO.select([h], nil, nil, 10)
    assert_equal [h], ready
    assert_equal 4, h.wait.exitstatus
    io.close
    refute h.to_io.closed? # a new one after close
  end

  def test_select_many
    skip "no process descriptor on the posix backend" if Ward.backend == "posix"
    # Each child ends when its pipe is closed, in an order the test
    # chooses (not by sleeps, which a loaded machine reorders): select
    # must name exactly the one that ended, and not the others.
    # Ruby makes its pipes non-blocking: the child's read must block.
    require "io/nonblock"
    pipes = Array.new(3) { IO.pipe.each { |io| io.nonblock = false } }
    hs = pipes.map { |r, _| spawn("/bin/sh", "-c", "read x; exit 0", in: r) }
    pipes.each { |r, _| r.close }
    [1, 2, 0].each do |i|
      refute IO.select(hs.reject(&:reaped?), nil, nil, 0), "ready before its pipe closed"
      pipes[i][1].close
      ready, = IO.select(hs.reject(&:reaped?), nil, nil, 10)
      assert_equal [hs[i]], ready
      assert_equal 0, hs[i].wait.exitstatus
    end
  end

  def test_no_new
    assert_raises(NoMethodError) { Process::PrivateHandle.new }
    assert_raises(TypeError, NoMethodError) { Process::PrivateHandle.allocate }
  end

  def test_inspect
    h = spawn("/bin/sh", "-c", "exit 1")
    assert_match(/\A#<Process::PrivateHandle pid=#{h.pid} (unreaped|exit 1)>\z/, h.inspect)
    h.wait
    assert_equal "#<Process::PrivateHandle pid=#{h.pid} exit 1>", h.inspect
  end

  def test_wait_is_interruptible
    h = spawn("sleep", "30")
    th = Thread.new { h.wait }
    th.report_on_exception = false
    sleep 0.1 until th.status == "sleep"
    t = Time.now
    th.raise(RuntimeError, "stop")
    assert_raises(RuntimeError) { th.join }
    assert_operator Time.now - t, :<, 10
    th = Thread.new { h.wait }
    sleep 0.1 until th.status == "sleep"
    th.kill
    th.join
    refute h.reaped?
    h.kill(:KILL)
    assert_equal 9, h.wait.termsig
  end

  def test_traps_run_during_wait
    got = 0
    old = Signal.trap(:USR1) { got += 1 }
    h = spawn("/bin/sh", "-c", "sleep 0.3; exit 8")
    Thread.new { sleep 0.1; Process.kill(:USR1, Process.pid) }
    assert_equal 8, h.wait.exitstatus
    assert_equal 1, got
  ensure
    Signal.trap(:USR1, old || "DEFAULT")
  end

  def test_handles_are_foreign_in_a_forked_child
    h = spawn("sleep", "5")
    done = spawn("/bin/sh", "-c", "exit 3")
    done.wait
    pid = fork do
      code = 0
      begin
        h.wait
        code |= 1
      rescue Errno::ECHILD
        nil
      end
      begin
        h.kill(:TERM)
        code |= 2
      rescue Errno::ESRCH
        nil
      end
      code |= 4 unless done.wait.exitstatus == 3 # a cached status stays
      exit!(code)
    end
    Process.wait(pid)
    assert_equal 0, $?.exitstatus
    h.kill(:KILL)
    h.wait
  end

  def test_status_taken_outside_ward
    require "fiddle"
    libc = Fiddle::Handle.new("libc.so.6")
    # libc's own wait4, found by handle: neither ward nor libward-guard.
    wait4 = Fiddle::Function.new(libc["wait4"], [Fiddle::TYPE_INT, Fiddle::TYPE_VOIDP,
                                                 Fiddle::TYPE_INT, Fiddle::TYPE_VOIDP],
                                 Fiddle::TYPE_INT)
    h = spawn("/bin/sh", "-c", "sleep 0.2; exit 7")
    buf = Fiddle::Pointer.malloc(4, Fiddle::RUBY_FREE)
    took = wait4.call(h.pid, buf, 0, nil) # a thief; the guard's handler may win
    assert_includes [h.pid, -1], took
    # The status is recovered from the pidfd where the kernel keeps it
    # (Linux 6.15 and later); otherwise the wait says so.  Never 0, never a hang.
    begin
      assert_equal 7, h.wait.exitstatus
    rescue Errno::ECHILD => e
      assert_equal h.pid, took
      assert_match(/cannot be recovered/, e.message)
    end
  rescue Fiddle::DLError
    skip "no libc.so.6 to call"
  end
end
