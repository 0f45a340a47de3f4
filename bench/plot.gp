# bench/plot.gp - the plot of a bench run.
#   gnuplot -e "dir='DIR'" bench/plot.gp     reads DIR/spawn.dat, DIR/latency.dat,
#                                           DIR/threads.dat; writes DIR/plot.png
if (!exists("dir")) dir = "."

set terminal pngcairo size 2100,600 font "DejaVu Sans,10" noenhanced
set output dir."/plot.png"
set encoding utf8
set datafile columnheaders

set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border rgb "#333333"
set boxwidth 0.9
set logscale y
set grid ytics mytics
set xtics nomirror
set ytics nomirror

# One colour per column: the two floors, then ward's four, then the peers.
array col[10] = ["#444444", "#aaaaaa", "#1b9e3a", "#7fd18b", "#d95f02", "#fdb863", \
                 "#3a6fd8", "#e41a1c", "#984ea3", "#a6761d"]
# Scenario 7's columns: floor, ward, posix_spawn, in the same colours.
array thcol[3] = ["#444444", "#1b9e3a", "#3a6fd8"]

set multiplot layout 1,3 title "ward bench (medians)"

set title "Scenarios 1-3: one spawn + reap (lower is better; log scale)"
set ylabel "µs per child"
unset key
plot for [i=2:*] dir."/spawn.dat" using i:xtic(1) lc rgb col[(i-2)%10+1]

set title "Scenario 5: child's exit to parent notified (lower is better; log scale)"
set ylabel "µs"
set key outside right top vertical autotitle columnhead
plot for [i=2:*] dir."/latency.dat" using i:xtic(1) lc rgb col[(i-2)%10+1]

# Throughput, so higher is better here; the mixed load (4 spawners, 2
# waiters) is a point of its own, not part of the line.
set title "Scenario 7: threads spawning at once (higher is better)"
set ylabel "children per ms, all threads"
unset logscale y
set yrange [0:*]
set xrange [-0.3:4.3]
set key inside left top vertical
set style data linespoints
plot for [i=2:*] dir."/threads.dat" every ::0::3 using 0:i:xtic(1) \
         lc rgb thcol[(i-2)%3+1] pt 7 lw 2 title columnhead(i), \
     for [i=2:*] dir."/threads.dat" every ::4::4 using (4):i:xtic(1) \
         with points lc rgb thcol[(i-2)%3+1] pt 5 ps 1.5 notitle

unset multiplot
