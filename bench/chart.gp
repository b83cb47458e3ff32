# bench/chart.gp - requests/s per endpoint and server as grouped bars (log scale: the
# endpoints span three orders of magnitude), from bench/run.sh:
#   gnuplot -e "datafile='chart.dat'; outfile='results.png'; subtitle='...'" bench/chart.gp
# chart.dat: "endpoint tern h2o-bare fastapi" per line, NaN where a server has no run.
set terminal pngcairo size 1100,560 font "sans,10" noenhanced
set output outfile
set title "requests/s, one worker each (higher is better)\n".subtitle
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set format y "%.0f"
set grid ytics
set ylabel "requests/s"
set xtics rotate by -20
set key top right
set datafile missing "NaN"
plot datafile using 2:xtic(1) title "tern" lc rgb "#1f77b4", \
     '' using 3 title "h2o-bare" lc rgb "#7f7f7f", \
     '' using 4 title "FastAPI" lc rgb "#ff7f0e"
