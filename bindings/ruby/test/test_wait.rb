# frozen_string_literal: true

require_relative "helper"

# The wait family, rebuilt on ward: a private child does not exist for it.
class TestWait < WardTest::Case
  def test_private_pid_is_not_a_child
    h = spawn("/bin/sh", "-c", "exit 7")
    sleep 0.05
    assert_raises(Errno::ECHILD) { Process.wait(h.pid) }
    assert_raises(Errno::ECHILD) { Process.waitpid(h.pid, Process::WNOHANG) }
    assert_raises(Errno::ECHILD) { Process.wait2(h.pid) }
    assert_raises(Errno::ECHILD) { Process.waitpid2(h.pid) }
    assert_equal(-1, Process::Status.wait(h.pid).pid)
    assert_equal 7, h.wait.exitstatus
  end

  def test_wait_any_skips_private_children
    h = spawn("/bin/sh", "-c", "exit 7")
    pid = Process.spawn("/bin/sh", "-c", "sleep 0.2; exit 3")
    assert_equal pid, Process.wait
    assert_equal 3, $?.exitstatus
    assert_equal pid, $?.pid
    assert_equal 7, h.wait.exitstatus
  end

  def test_wait_any_with_only_private_children_is_echild
    h = spawn("sleep", "30")
    t = Time.now
    assert_raises(Errno::ECHILD) { Process.wait }
    assert_raises(Errno::ECHILD) { Process.wait2(-1) }
    assert_raises(Errno::ECHILD) { Process.wait(-1, Process::WNOHANG) }
    assert_raises(Errno::ECHILD) { Process.wait(0) }
    assert_equal [], Process.waitall
    assert_operator Time.now - t, :<, 10 # not the 30 s of the private child
    h.kill(:KILL)
    h.wait
  end

  def test_blocking_wait_outlives_private_exits
    hs = 5.times.map { |i| spawn("/bin/sh", "-c", "sleep 0.0#{i}; exit #{i}") }
    pid = Process.spawn("/bin/sh", "-c", "sleep 0.3; exit 11")
    assert_equal [pid, 11], Process.wait2(-1).then { |p, s| [p, s.exitstatus] }
    assert_equal [0, 1, 2, 3, 4], hs.map { |h| h.wait.exitstatus }
  end

  def test_wnohang
    pid = Process.spawn("sleep", "5")
    h = spawn("/bin/sh", "-c", "exit 1")
    sleep 0.05
    assert_nil Process.waitpid(-1, Process::WNOHANG)
    assert_nil Process.waitpid2(pid, Process::WNOHANG)
    Process.kill(:KILL, pid)
    assert_equal pid, with_timeout { Process.wait(pid) }
    assert_equal 9, $?.termsig
    assert_equal 1, h.wait.exitstatus
  end

  def test_waitall
    h = spawn("sleep", "30")
    pids = 3.times.map { |i| Process.spawn("/bin/sh", "-c", "exit #{i}") }
    t = Time.now
    all = Process.waitall
    assert_operator Time.now - t, :<, 10 # not the 30 s of the private child
    assert_equal pids.sort, all.map(&:first).sort
    assert_equal [0, 1, 2], all.sort.map { |_, s| s.exitstatus }
    refute h.reaped?
    h.kill(:KILL)
    h.wait
  end

  def test_process_groups
    pid = Process.spawn("/bin/sh", "-c", "exit 5", pgroup: true)
    h = spawn("sleep", "5", pgroup: true)
    assert_raises(Errno::ECHILD) { Process.wait(-h.pid) }
    assert_equal pid, Process.wait(-pid)
    assert_equal 5, $?.exitstatus
    pid = Process.spawn("/bin/sh", "-c", "exit 6")
    assert_equal pid, Process.wait(0)
    h.kill(:KILL)
    h.wait
  end

  def test_detach
    pid = Process.spawn("/bin/sh", "-c", "exit 4")
    th = Process.detach(pid)
    assert_equal pid, th.pid
    assert_equal pid, th[:pid]
    assert_equal 4, th.value.exitstatus
    h = spawn("/bin/sh", "-c", "exit 2")
    assert_nil Process.detach(h.pid).value
    assert_equal 2, h.wait.exitstatus
  end

  def test_status_wait
    pid = Process.spawn("/bin/sh", "-c", "exit 3")
    st = Process::Status.wait(pid)
    assert_equal [pid, 3], [st.pid, st.exitstatus]
    pid = Process.spawn("sleep", "5")
    assert_nil Process::Status.wait(pid, Process::WNOHANG)
    Process.kill(:KILL, pid)
    assert_equal 9, Process::Status.wait(pid).termsig
  end

  def test_module_functions
    obj = Object.new.extend(Process)
    pid = Process.spawn("true")
    assert_equal pid, obj.__send__(:wait, pid)
    h = spawn("/bin/sh", "-c", "exit 1")
    assert_raises(Errno::ECHILD) { obj.__send__(:waitpid, h.pid) }
    h.wait
    pid = Process.spawn("true")
    assert_equal 0, obj.__send__(:detach, pid).value.exitstatus
  end

  def test_blocking_wait_is_interruptible
    pid = Process.spawn("sleep", "10")
    th = Thread.new { Process.wait(-1) }
    sleep 0.05 until th.status == "sleep"
    th.kill
    th.join
    th = Thread.new { Process.wait(pid) }
    th.report_on_exception = false
    sleep 0.05 until th.status == "sleep"
    th.raise(RuntimeError)
    assert_raises(RuntimeError) { th.join }
    Process.kill(:KILL, pid)
    Process.wait(pid)
  end

  def test_stopped_children
    pid = Process.spawn("sleep", "10")
    h = spawn("sleep", "10")
    Process.kill(:STOP, pid)
    h.kill(:STOP)
    assert_equal pid, with_timeout { Process.wait(-1, Process::WUNTRACED) }
    assert $?.stopped?
    assert_nil Process.wait(-1, Process::WNOHANG | Process::WUNTRACED)
    [pid].each { |p| Process.kill(:KILL, p) }
    Process.wait(pid)
    h.kill(:KILL)
    assert_equal 9, h.wait.termsig
  end

  def test_open3_and_popen_still_work
    require "open3"
    out, st = Open3.capture2("echo", "open3")
    assert_equal ["open3\n", true], [out, st.success?]
    assert_equal "popen\n", IO.popen(%w[echo popen], &:read)
    assert system("true")
    assert_equal "bt\n", `echo bt`
  end
end
