# frozen_string_literal: true

# ward for Ruby: private child processes.
#
#   h = Process.spawn_private("gzip", "-9", "big.log")
#   h.wait            # => #<Process::Status: pid 4242 exit 0>, the same object every time
#
# A private child's exit status belongs to its Process::PrivateHandle.
# Process.wait, Process.wait2, Process.waitpid, Process.waitpid2,
# Process.waitall, Process.detach and Process::Status.wait are replaced by
# versions built on ward's wait family: they never see a private child, and
# a private pid is "not a child" to them (Errno::ECHILD).  A
# Signal.trap(:CHLD) handler does not run for private children either (see
# Ward::TrapGuard, and Ward.guard for libward-guard).
#
# The C half is ward/ward_ext (ext/ward/ward_ext.c); this file parses
# Process.spawn's arguments and adds what is easier in Ruby.
require "ward/version"

# A SIGCHLD trap set before ward is loaded must get the filter of
# Ward::TrapGuard too.  It is taken out now, while Ruby can still say what it
# is (once libward-guard owns SIGCHLD, Signal.trap answers nil for "DEFAULT"
# and "IGNORE"), and put back below.  A SIGCHLD that comes meanwhile is
# passed on.
ward_chld_fired = false
ward_chld_previous = Signal.trap(:CHLD) { ward_chld_fired = true }
# nil: a C handler that was not Ruby's (Ruby would take nil for "IGNORE",
# and for SIGCHLD then call nil).
ward_chld_previous = "DEFAULT" if ward_chld_previous.nil?
begin
  require "ward/ward_ext"
rescue LoadError, StandardError
  Signal.trap(:CHLD, ward_chld_previous)
  raise
end

module Ward
  # Characters that make Ruby run a command line through /bin/sh, and the
  # words that do when they come first (Ruby's process.c, rb_exec_fillarg).
  SHELL_META = /[*?{}\[\]<>()~&|\\$;'`"\n#]/.freeze
  SHELL_WORDS = %w[! . : break case continue do done elif else esac eval exec
                   exit export fi for if in readonly return set shift then
                   times trap unset until while].freeze
  private_constant :SHELL_META, :SHELL_WORDS

  class << self
    # The libward-guard shared library to load with LD_PRELOAD, next to the
    # ward library this extension uses (nil if there is none):
    #
    #   LD_PRELOAD=$(ruby -rward -e 'print Ward.guard_library') ruby app.rb
    def guard_library
      path = library_path or return nil
      return path if guard
      Dir[File.join(File.dirname(path), "libward-guard.so*")].min
    end

    # [signal number, whole group?] for a signal as Process.kill takes it.
    def signal_number(signal) # :nodoc:
      case signal
      when Integer
        signal.negative? ? [-signal, true] : [signal, false]
      when String, Symbol
        name = signal.to_s
        group = name.start_with?("-")
        name = name[1..] if group
        name = name[3..] if name.start_with?("SIG")
        number = name == "EXIT" ? nil : Signal.list[name]
        raise ArgumentError, "unsupported signal 'SIG#{name}'" unless number
        [number, group]
      else
        raise ArgumentError, "bad signal type #{signal.class}"
      end
    end

    # The body of Process.spawn_private.
    def spawn_private(args, opts) # :nodoc:
      args = args.dup
      opts = args.pop if opts.empty? && args.size > 1 && args.last.is_a?(Hash)
      env = args.first.respond_to?(:to_hash) ? args.shift.to_hash : nil
      raise ArgumentError, "wrong number of arguments (given 0, expected 1+)" if args.empty?

      file, argv, name = command(args)
      plan = Plan.new
      begin
        plan.options(opts)
        edits = (env || {}).map do |key, value|
          key = string(key)
          raise ArgumentError, "environment name contains a equal : #{key}" if key.include?("=")
          [key, value.nil? ? nil : string(value)]
        end
        stdio, maps, flags = plan.descriptors
        flush_stdio
        __spawn(file, argv, plan.unsetenv ? [] : nil, edits, plan.cwd, plan.umask,
                flags, stdio, maps, name)
      ensure
        plan.close
      end
    end

    private

    def string(obj)
      return obj.to_str if obj.respond_to?(:to_str)
      raise TypeError, "no implicit conversion of #{obj.class} into String"
    end

    # [file to execute, argv, name for errors], as Process.spawn decides.
    def command(args)
      if args.size == 1 && !args[0].is_a?(Array)
        line = string(args[0])
        return ["/bin/sh", ["sh", "-c", line], line] if shell?(line)
        words = line.split(/[ \t]+/).reject(&:empty?)
        raise Errno::ENOENT, line if words.empty?
        return [words[0], words, words[0]]
      end
      first, *rest = args
      if first.is_a?(Array)
        raise ArgumentError, "wrong first argument" unless first.size == 2
        file = string(first[0])
        argv0 = string(first[1])
      else
        file = argv0 = string(first)
      end
      [file, [argv0, *rest.map { |a| string(a) }], file]
    end

    def shell?(line)
      return true if SHELL_META.match?(line)
      first = line[/\A[ \t]*([^ \t]*)/, 1]
      first.each_char do |c|
        return true if c == "="
        return false if c == "/"
      end
      SHELL_WORDS.include?(first)
    end

    # Ruby flushes its standard output and error before it starts a child.
    def flush_stdio
      [$stdout, $stderr].each do |io|
        io.flush if io.respond_to?(:flush) && !(io.respond_to?(:closed?) && io.closed?)
      rescue IOError
        nil
      end
    end
  end

  # The options of one spawn, and the files opened for its redirections.
  class Plan # :nodoc:
    attr_reader :cwd, :umask, :unsetenv

    def initialize
      @cwd = nil
      @umask = nil
      @unsetenv = false
      @close_others = false
      @pgroup = false
      @redirects = {} # child fd => parent fd, :close or [:child, fd]
      @files = []
    end

    def options(opts)
      opts.each do |key, value|
        case key
        when :chdir then @cwd = File.path(value)
        when :umask then @umask = Integer(value)
        when :pgroup then pgroup(value)
        when :unsetenv_others then @unsetenv = value ? true : false
        when :close_others then @close_others = value ? true : false
        when :in, :out, :err, Integer, IO, Array then redirect(key, value)
        when Symbol
          if key.to_s.start_with?("rlimit_")
            raise NotImplementedError, "spawn_private: #{key}: libward cannot set resource limits"
          end
          raise ArgumentError, "wrong exec option symbol: #{key}"
        else
          raise ArgumentError, "wrong exec option" unless key.respond_to?(:to_io)
          redirect(key, value)
        end
      end
    end

    # [stdio, maps, flags] for Ward.__spawn.
    def descriptors
      resolved = @redirects.to_h { |fd, target| [fd, resolve(target)] }
      stdio = (0..2).map do |fd|
        target = resolved[fd]
        if target == :close
          raise NotImplementedError,
                "spawn_private: #{%w[in out err][fd]}: :close: libward cannot close " \
                "descriptor #{fd} in the child"
        end
        target
      end
      maps = []
      closed = []
      resolved.each do |fd, target|
        next if fd <= 2
        target == :close ? closed << fd : maps << [target, fd]
      end
      flags = @pgroup ? NEW_PGROUP : 0
      if @close_others
        # Only 0, 1, 2 and the mapped descriptors reach the child.
      elsif closed.empty?
        flags |= INHERIT_FDS
      else
        # ward keeps only mapped descriptors without INHERIT_FDS: map every
        # descriptor the child would inherit, except the closed ones.
        taken = maps.map(&:last) + closed
        Ward.__inheritable_fds.each { |fd| maps << [fd, fd] unless taken.include?(fd) }
      end
      [stdio, maps, flags]
    end

    def close
      @files.each { |f| f.close unless f.closed? }
      @files.clear
    end

    private

    def pgroup(value)
      case value
      when true, 0 then @pgroup = true
      when nil, false then @pgroup = false
      when Integer
        raise ArgumentError, "negative process group ID : #{value}" if value.negative?
        raise NotImplementedError,
              "spawn_private: pgroup: #{value}: libward cannot join an existing " \
              "process group (pgroup: true makes a new one)"
      else
        raise TypeError, "no implicit conversion of #{value.class} into Integer"
      end
    end

    def child_fd(key)
      case key
      when :in then 0
      when :out then 1
      when :err then 2
      when Integer
        raise ArgumentError, "negative file descriptor" if key.negative?
        key
      else
        return key.to_io.fileno if key.respond_to?(:to_io)
        raise ArgumentError, "wrong exec redirect symbol: #{key.inspect}"
      end
    end

    def redirect(key, value)
      fds = key.is_a?(Array) ? key.map { |k| child_fd(k) } : [child_fd(key)]
      raise ArgumentError, "wrong exec redirect" if fds.empty?
      target = parent_fd(value, fds.first)
      fds.each { |fd| @redirects[fd] = target }
    end

    def default_flags(fd)
      fd.zero? ? File::RDONLY : File::WRONLY | File::CREAT | File::TRUNC
    end

    def parent_fd(value, fd)
      case value
      when :in then 0
      when :out then 1
      when :err then 2
      when :close then :close
      when Integer then value
      when String then open(value, default_flags(fd), 0o644)
      when Array
        return [:child, child_fd(value[1])] if value[0] == :child && value.size == 2
        raise ArgumentError, "wrong exec redirect action" unless (1..3).cover?(value.size)
        mode = value[1].nil? ? default_flags(fd) : value[1]
        open(File.path(value[0]), mode, value[2] || 0o644)
      else
        return open(File.path(value), default_flags(fd), 0o644) if value.respond_to?(:to_path)
        return value.to_io.fileno if value.respond_to?(:to_io)
        raise ArgumentError, "wrong exec redirect action"
      end
    end

    # Opened here, in the parent's directory, as Ruby does.
    def open(path, mode, perm)
      file = File.new(path, mode, perm)
      @files << file
      file.fileno
    end

    # [:child, fd]: what the child gets as fd after the other redirections.
    def resolve(target, depth = 0)
      return target unless target.is_a?(Array)
      raise ArgumentError, "cyclic child fd redirection" if depth > 3
      fd = target[1]
      @redirects.key?(fd) ? resolve(@redirects[fd], depth + 1) : fd
    end
  end

  # The thread Process.detach returns: #pid and #value as Process::Waiter.
  class Waiter < Thread
    attr_reader :pid

    def initialize(pid)
      @pid = pid
      super() { Ward.__detach_wait(pid) }
    end
  end

  # Signal.trap and Kernel#trap for SIGCHLD.  A callable handler is wrapped
  # so that it runs only when a child that is not private has something to
  # report: a SIGCHLD trap never runs for a private child, whatever the
  # guard mode and however many threads there are.  (libward-guard alone
  # misses one case: a private child that ends before ward has recorded it,
  # whose SIGCHLD another thread takes.)  Signal.trap returns the handler it
  # was given, never the wrapper.  In :linked mode, SIGCHLD also goes back
  # to libward-guard after Ruby's trap has put Ruby's C handler in front.
  module TrapGuard # :nodoc:
    CHLD = Signal.list.fetch("CHLD")
    @originals = {}.compare_by_identity
    @lock = Mutex.new
    @current = "DEFAULT"

    class << self
      def chld?(signal)
        case signal
        when Integer then signal == CHLD
        when String, Symbol
          name = signal.to_s.delete_prefix("SIG")
          Signal.list[name] == CHLD
        else false
        end
      end

      def wrap(command)
        return command unless command.respond_to?(:call)
        wrapper = proc { |*args| command.call(*args) if Ward.__child_report? }
        @lock.synchronize { @originals[wrapper] = command }
        wrapper
      end

      def unwrap(previous)
        @lock.synchronize { @originals.delete(previous) } || previous
      end

      def trap(signal, args, block)
        return yield(args, block) unless chld?(signal)
        command = block || args[0]
        if (args.empty? && block) || (args.size == 1 && block.nil?)
          previous = args.empty? ? yield([], wrap(block)) : yield([wrap(args[0])], nil)
          # Where libward-guard's C handler is in front, Ruby answers nil
          # for "DEFAULT" and "IGNORE": answer what was set.
          previous = @current if previous.nil?
          @current = command
          unwrap(previous)
        else
          yield(args, block) # whatever Ruby says of it
        end
      ensure
        Ward.__readopt_sigchld
      end

      attr_writer :current
    end

    def trap(signal, *args, &block)
      TrapGuard.trap(signal, args, block) { |a, b| super(signal, *a, &b) }
    end
  end

  module KernelTrapGuard # :nodoc:
    private

    def trap(signal, *args, &block)
      TrapGuard.trap(signal, args, block) { |a, b| super(signal, *a, &b) }
    end
  end
end

# The status of a running child (from PrivateHandle#wait_nonblock) is the
# classic "continued" status 0xffff, which waitpid() also reports for a child
# that was continued: Ruby calls it "core dumped"; it is running.
module Ward::RunningStatus # :nodoc:
  RUNNING = 0xffff

  def inspect
    to_i == RUNNING ? "#<#{self.class}: pid #{pid} running>" : super
  end

  def to_s
    to_i == RUNNING ? "pid #{pid} running" : super
  end

  def coredump?
    to_i == RUNNING ? false : super
  end
end
Process::Status.prepend(Ward::RunningStatus)

class Process::PrivateHandle

  # call-seq:
  #   handle.kill(signal) -> 1
  #
  # Sends signal (a number, or a name such as :TERM, "TERM" or "SIGTERM";
  # negative, or with a leading "-", for the child's process group, which
  # needs pgroup: true) to the child.  Once the child has been reaped,
  # raises Errno::ESRCH without a system call: a handle never signals a
  # process that merely inherited the pid.
  def kill(signal)
    number, group = Ward.signal_number(signal)
    __kill(number, group)
  end

  def inspect
    state = reaped? ? status.inspect.sub(/\A#<Process::Status: pid \d+ /, "").chomp(">") : "unreaped"
    "#<#{self.class} pid=#{pid} #{state}>"
  end
end

module Process
  class << self
    remove_method :detach if method_defined?(:detach, false) || private_method_defined?(:detach, false)

    # call-seq:
    #   Process.spawn_private([env,] command... [,options]) -> handle
    #
    # Starts a private child as Process.spawn would, with the same forms of
    # arguments (a command line, through /bin/sh when it has shell
    # metacharacters; or a program and its arguments) and the common
    # options (chdir:, umask:, pgroup: true, unsetenv_others:,
    # close_others:, and redirections of :in, :out, :err and other
    # descriptors to files, IOs and descriptors), and returns its
    # Process::PrivateHandle.  Errors before the program runs (a missing
    # program, a bad directory...) are raised here, never turned into an
    # exit status 127.
    def spawn_private(*args, **opts)
      Ward.spawn_private(args, opts)
    end

    # call-seq:
    #   Process.detach(pid) -> thread
    #
    # As Ruby's, through ward: a thread (Ward::Waiter, with #pid and
    # thread[:pid]) whose value is the status of child pid, or nil if pid
    # is not a child of this process (a private one included).
    def detach(pid)
      pid = Integer(pid)
      waiter = Ward::Waiter.new(pid)
      waiter[:pid] = pid
      waiter
    end
  end

  remove_method :detach if method_defined?(:detach, false) || private_method_defined?(:detach, false)

  private

  def detach(pid)
    Process.detach(pid)
  end
end

Signal.singleton_class.prepend(Ward::TrapGuard)
Kernel.singleton_class.prepend(Ward::TrapGuard)
Kernel.prepend(Ward::KernelTrapGuard)

Ward::TrapGuard.current = ward_chld_previous
Signal.trap(:CHLD, ward_chld_previous)
Process.kill(:CHLD, Process.pid) if ward_chld_fired
