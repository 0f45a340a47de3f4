# frozen_string_literal: true

require_relative "helper"

# Everything at once, from many threads: nothing lost, nothing stuck.
class TestStress < WardTest::Case
  def test_forks_spawns_waits_and_env_changes_together
    trap_reaped = Queue.new
    Signal.trap(:CHLD) do
      loop do
        pid, st = Process.waitpid2(-1, Process::WNOHANG)
        break unless pid
        trap_reaped << [pid, st.exitstatus]
      rescue Errno::ECHILD
        break
      end
    end
    sleeper = Process.spawn("sleep", "60")
    waited = Queue.new
    waiter = Thread.new do
      loop do
        pid = Process.wait(-1)
        waited << [pid, $?.exitstatus]
        break if pid == sleeper
      rescue Errno::ECHILD
        break
      end
    end
    stop = false
    env = Thread.new { (ENV["WARD_STRESS"] = (i = (i || 0) + 1).to_s; Thread.pass) until stop }
    forks = 3.times.map do |t|
      Thread.new { 15.times.map { |i| Process.fork_private { exit!(t * 20 + i) }.wait.exitstatus } }
    end
    spawns = 3.times.map do |t|
      Thread.new do
        80.times.map do |i|
          Process.spawn_private({ "WARD_I" => i.to_s }, "/bin/sh", "-c", "exit $WARD_I").wait.exitstatus
        end
      end
    end
    publics = 10.times.map { Process.spawn("/bin/sh", "-c", "exit 3") }
    with_timeout(60) do
      forks.each_with_index { |th, t| assert_equal((0...15).map { |i| t * 20 + i }, th.value) }
      spawns.each { |th| assert_equal (0...80).to_a, th.value }
    end
    stop = true
    env.join
    ENV.delete("WARD_STRESS")
    Process.kill(:KILL, sleeper)
    with_timeout(20) { waiter.join }
    got = []
    got << waited.pop until waited.empty?
    with_timeout(10) do
      got << trap_reaped.pop until (got.map(&:first) & publics).size == publics.size
    end
    got << trap_reaped.pop until trap_reaped.empty?
    assert_equal (publics + [sleeper]).sort, got.map(&:first).sort
    assert_equal [3], got.reject { |pid, _| pid == sleeper }.map(&:last).uniq
  end
end
