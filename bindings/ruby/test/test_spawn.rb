# frozen_string_literal: true

require_relative "helper"
require "fileutils"

# Process.spawn_private: Process.spawn's argument forms and options.
class TestSpawn < WardTest::Case
  def output(*args, **opts)
    r, w = IO.pipe
    h = spawn(*args, **opts, out: w)
    w.close
    out = r.read
    r.close
    [out, h.wait]
  end

  def test_argv_form
    h = spawn("/bin/sh", "-c", "exit 7")
    assert_kind_of Process::PrivateHandle, h
    assert_kind_of Integer, h.pid
    st = h.wait
    assert_kind_of Process::Status, st
    assert_equal 7, st.exitstatus
    assert_equal h.pid, st.pid
  end

  def test_program_found_in_path
    assert_equal ["a b\n", 0], output("echo", "a", "b").then { |o, s| [o, s.exitstatus] }
  end

  def test_command_line_without_metacharacters_is_split
    out, st = output("echo  one \t two")
    assert_equal "one two\n", out
    assert st.success?
  end

  def test_command_line_with_metacharacters_uses_the_shell
    dir = tmpdir
    st = spawn("echo hi > #{dir}/f; exit 3").wait
    assert_equal 3, st.exitstatus
    assert_equal "hi\n", File.read("#{dir}/f")
  end

  def test_shell_reserved_word_and_assignment_use_the_shell
    assert_equal 4, spawn("exit 4").wait.exitstatus
    out, = output("WARD_A=1 env")
    assert_includes out, "WARD_A=1\n"
  end

  def test_argv0_form
    out, = output(["/bin/sh", "my-name"], "-c", "echo $0")
    assert_equal "my-name\n", out
  end

  def test_env_set_and_unset
    ENV["WARD_TEST_UNSET_ME"] = "x"
    out, = output({ "WARD_TEST_SET" => "yes", "WARD_TEST_UNSET_ME" => nil }, "env")
    assert_includes out.lines, "WARD_TEST_SET=yes\n"
    refute_match(/WARD_TEST_UNSET_ME/, out)
  ensure
    ENV.delete("WARD_TEST_UNSET_ME")
  end

  def test_unsetenv_others
    out, = output({ "ONLY" => "1" }, "/usr/bin/env", unsetenv_others: true)
    assert_equal "ONLY=1\n", out
  end

  def test_env_errors
    assert_raises(ArgumentError) { spawn({ "A=B" => "1" }, "true") }
    assert_raises(ArgumentError) { spawn({ "" => "1" }, "true") }
    assert_raises(TypeError) { spawn({ A: "1" }, "true") }
    assert_raises(ArgumentError) { spawn("true\0") }
  end

  def test_chdir
    dir = tmpdir
    out, = output("pwd", chdir: dir)
    assert_equal File.realpath(dir), File.realpath(out.chomp)
    e = assert_raises(Errno::ENOENT) { spawn("true", chdir: "#{dir}/missing") }
    assert_match(/true/, e.message)
  end

  def test_umask
    out, = output("/bin/sh", "-c", "umask", umask: 0o27)
    assert_equal "0027", out.chomp
  end

  def test_pgroup
    h = spawn("sleep", "5", pgroup: true)
    assert_equal h.pid, Process.getpgid(h.pid)
    h.kill(:KILL)
    assert_equal 9, h.wait.termsig
    h = spawn("sleep", "5")
    assert_equal Process.getpgrp, Process.getpgid(h.pid)
    h.kill(:KILL)
    h.wait
    assert_raises(NotImplementedError) { spawn("true", pgroup: Process.getpgrp) }
    assert_raises(ArgumentError) { spawn("true", pgroup: -1) }
  end

  def test_redirect_to_files
    dir = tmpdir
    File.write("#{dir}/in", "from file\n")
    assert spawn("cat", in: "#{dir}/in", out: "#{dir}/out").wait.success?
    assert_equal "from file\n", File.read("#{dir}/out")
    assert spawn("echo again", out: ["#{dir}/out", "a"]).wait.success?
    assert_equal "from file\nagain\n", File.read("#{dir}/out")
    assert spawn("echo x", out: ["#{dir}/p", File::WRONLY | File::CREAT | File::TRUNC, 0o600]).wait.success?
    assert_equal 0o600, File.stat("#{dir}/p").mode & 0o777
    spawn("ls", "#{dir}/missing", out: "#{dir}/both", err: [:child, :out]).wait
    assert_match(/missing/, File.read("#{dir}/both"))
    spawn("echo to-err >&2", err: "#{dir}/err").wait
    assert_equal "to-err\n", File.read("#{dir}/err")
  end

  def test_redirect_to_ios_and_descriptors
    r, w = IO.pipe
    h = spawn("echo out; echo err >&2", out: w, err: w.fileno)
    w.close
    assert_equal %w[err out], r.read.split.sort
    assert h.wait.success?
    r.close

    r, w = IO.pipe
    h = spawn("echo both >&2", [:out, :err] => w)
    w.close
    assert_equal "both\n", r.read
    h.wait
    r.close

    r, w = IO.pipe
    h = spawn("echo via-key", STDOUT => w) # an IO key names the child's descriptor
    w.close
    assert_equal "via-key\n", r.read
    h.wait
    r.close
  end

  def test_redirect_higher_descriptors
    r, w = IO.pipe
    h = spawn("/bin/sh", "-c", "echo five >&5", 5 => w)
    w.close
    assert_equal "five\n", r.read
    assert h.wait.success?
    r.close
  end

  def test_close_others_and_closing_one_descriptor
    r, w = IO.pipe
    w.close_on_exec = false
    fd = w.fileno
    r2, w2 = IO.pipe
    w2.close_on_exec = false
    # (dash redirects only descriptors 0-9: write through /proc instead.)
    say = ->(word, n) { "echo #{word} > /proc/self/fd/#{n}" }
    # Like Process.spawn (close_others: false), an inheritable descriptor
    # reaches the child...
    assert spawn("/bin/sh", "-c", say["kept", fd]).wait.success?
    # ...unless close_others: true, or it is closed by name.
    refute spawn("/bin/sh", "-c", say["gone", fd], close_others: true, err: File::NULL).wait.success?
    refute spawn("/bin/sh", "-c", say["gone", fd], fd => :close, err: File::NULL).wait.success?
    assert spawn("/bin/sh", "-c", say["other", w2.fileno], fd => :close).wait.success?
    w.close
    w2.close
    assert_equal "kept\n", r.read
    assert_equal "other\n", r2.read
    [r, r2].each(&:close)
  end

  def test_unsupported_options
    assert_raises(NotImplementedError) { spawn("true", out: :close) }
    assert_raises(NotImplementedError) { spawn("true", rlimit_core: 0) }
    e = assert_raises(ArgumentError) { spawn("true", bogus: 1) }
    assert_match(/bogus/, e.message)
    assert_raises(ArgumentError) { spawn("true", "x" => 1) }
    assert_raises(ArgumentError) { Process.spawn_private }
    assert_raises(ArgumentError) { Process.spawn_private({ "A" => "1" }) }
  end

  def test_exec_errors_are_raised_not_127
    e = assert_raises(Errno::ENOENT) { spawn("ward-no-such-program-xyz") }
    assert_match(/ward-no-such-program-xyz/, e.message)
    assert_raises(Errno::ENOENT) { spawn("") }
    assert_raises(Errno::ENOENT) { spawn("   ") }
    assert_raises(Errno::ENOENT) { spawn("/nonexistent/prog", "a") }
    assert_raises(Errno::EACCES) { spawn("/etc/passwd") }
    dir = tmpdir
    File.write("#{dir}/garbage", "\x01\x02\x03 not a program\n")
    File.chmod(0o755, "#{dir}/garbage")
    # Unlike Process.spawn, a file without #! is never run through /bin/sh.
    assert_raises(Errno::ENOEXEC) { spawn("#{dir}/garbage") }
  end

  def test_no_descriptor_or_child_leaks
    dir = tmpdir
    GC.start
    before = open_fds
    50.times do |i|
      h = Process.spawn_private("/bin/sh", "-c", "exit 0", out: "#{dir}/o#{i}", err: File::NULL)
      h.wait
      assert_raises(Errno::ENOENT) { Process.spawn_private("ward-no-such-program-xyz", out: "#{dir}/x") }
    end
    GC.start
    assert_equal before, open_fds
    assert_empty WardTest.children
  end

  def test_spawn_from_many_threads
    threads = 8.times.map do |t|
      Thread.new do
        20.times.map { |i| Process.spawn_private("/bin/sh", "-c", "exit #{(t + i) % 50}").wait.exitstatus }
      end
    end
    threads.each_with_index do |th, t|
      assert_equal 20.times.map { |i| (t + i) % 50 }, th.value
    end
  end
end
