# frozen_string_literal: true

# Shared set-up for the ward Ruby tests.  Run by bindings/ruby/test/ruby.test
# (make check), or by hand from a built extension:
#
#   ruby -I BUILD/lib -I bindings/ruby/lib bindings/ruby/test/all.rb
#
# WARD_EXPECT_GUARD (preload, linked or none) says which Ward.guard the run
# expects; the trap tests that need the guard skip without it.
require "minitest/autorun"
require "tmpdir"
require "timeout"
require "ward"

module WardTest
  EXPECT_GUARD = ENV.fetch("WARD_EXPECT_GUARD", "")

  # The pids of this process's children, from /proc (nil where unknown).
  def self.children
    Dir["/proc/self/task/*/children"].flat_map { |f| File.read(f).split.map(&:to_i) }
  rescue SystemCallError
    nil
  end

  def self.guarded?
    !Ward.guard.nil?
  end

  # Every test starts and ends with no child left: private or not.
  Minitest.after_run do
    left = children
    if left && !left.empty?
      warn "ward tests: children left behind: #{left.inspect}"
      left.each do |pid|
        Process.kill(:KILL, pid)
      rescue SystemCallError
        nil
      end
      exit! 1
    end
  end

  class Case < Minitest::Test
    def setup
      @handles = []
      @tmpdirs = []
    end

    def teardown
      @handles.each do |h|
        h.terminate(0) unless h.reaped?
      rescue Errno::ECHILD
        nil # a test let a thief take the status
      end
      @tmpdirs.each { |d| FileUtils.rm_rf(d) }
      Signal.trap(:CHLD, "DEFAULT")
      left = WardTest.children
      return unless left && !left.empty?
      # Private children dropped by a test are reaped by ward itself; give
      # it the chance (any wait through ward reaps them), then complain.
      deadline = Time.now + 5
      while (left = WardTest.children) && !left.empty? && Time.now < deadline
        begin
          Process.wait(-1, Process::WNOHANG)
        rescue Errno::ECHILD
          nil
        end
        sleep 0.01
      end
      assert_empty left, "children left behind"
    end

    # spawn_private, with the handle ended by teardown if the test did not.
    def spawn(*args, **opts)
      h = Process.spawn_private(*args, **opts)
      @handles << h
      h
    end

    def tmpdir
      d = Dir.mktmpdir("ward-ruby-test")
      @tmpdirs << d
      d
    end

    def open_fds
      Dir.children("/proc/self/fd").size
    end

    def with_timeout(seconds = 20, &block)
      Timeout.timeout(seconds, &block)
    end
  end
end
