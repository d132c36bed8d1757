/* geodx map pages (the client half of geodx/maps.py).
 *
 * The page is a constant Folium skeleton (the Leaflet map `map_geodx`) plus one JSON
 * blob, <script type="application/json" id="geodx-map-data">. This constant script
 * reads the blob and builds the title, legend, layers, tooltips and layer control.
 * Values from the blob only ever become DOM text (textContent), or HTML-escaped
 * strings where Leaflet takes HTML (layer names, attribution): nothing in it runs.
 */
(function () {
  "use strict";

  var holder = document.getElementById("geodx-map-data");
  var mapDiv = document.querySelector(".folium-map");
  if (!holder || !mapDiv || !window.L) {
    return;
  }
  var data = JSON.parse(holder.textContent);
  var map = window[mapDiv.id];

  function escapeHtml(value) {
    return String(value === null || value === undefined ? "" : value).replace(
      /[&<>"']/g,
      function (c) {
        return "&#" + c.charCodeAt(0) + ";";
      }
    );
  }

  function node(tag, className, text) {
    var el = document.createElement(tag);
    if (className) {
      el.className = className;
    }
    if (text !== null && text !== undefined) {
      el.textContent = String(text);
    }
    return el;
  }

  // 12345 -> "12 345"; at most 2 decimals; no value -> "–" (as geodx's reports).
  function formatNumber(value) {
    if (typeof value !== "number" || !isFinite(value)) {
      return "\u2013";
    }
    var text = Number.isInteger(value) ? String(Math.abs(value)) : Math.abs(value).toFixed(2);
    var parts = text.split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, " ");
    return (value < 0 ? "-" : "") + parts.join(".");
  }

  function cellText(column, value) {
    switch (column.kind) {
      case "number":
        return formatNumber(value);
      case "pct":
        return formatNumber(value) + " %";
      case "flag":
        return value === true ? column.yes : value === false ? column.no : "\u2013";
      default:
        return value === null || value === undefined ? "" : String(value);
    }
  }

  function tipTable(tip, i) {
    var table = node("table", "geodx-tip");
    tip.columns.forEach(function (column, k) {
      var tr = document.createElement("tr");
      tr.appendChild(node("th", null, column.label));
      tr.appendChild(node("td", null, cellText(column, tip.values[k][i])));
      table.appendChild(tr);
    });
    return table;
  }

  // One overlay: spec.shapes[i] drawn with spec.style, spec.fill[i], spec.tip row i.
  function geoLayer(spec, shapes) {
    var features = [];
    shapes.forEach(function (geometry, i) {
      if (geometry) {
        features.push({ type: "Feature", geometry: geometry, properties: { i: i } });
      }
    });
    return L.geoJSON(features, {
      style: function (feature) {
        var style = Object.assign({}, spec.style);
        if (spec.fill) {
          style.fillColor = spec.fill[feature.properties.i];
        }
        return style;
      },
      onEachFeature: function (feature, layer) {
        if (spec.tip) {
          layer.bindTooltip(
            function () {
              return tipTable(spec.tip, feature.properties.i);
            },
            { sticky: true }
          );
        }
      },
    });
  }

  var outlines = []; // unfilled overlays (boundaries) stay on top of what loads later

  function keepOutlinesOnTop() {
    outlines.forEach(function (layer) {
      if (map.hasLayer(layer)) {
        layer.bringToFront();
      }
    });
  }

  // An overlay fetched from spec.url the first time it is turned on.
  function lazyLayer(spec) {
    var group = L.layerGroup();
    var state = "idle";
    group.on("add", function () {
      if (state !== "idle") {
        return;
      }
      state = "loading";
      fetch(spec.url, { headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (layer) {
          state = "loaded";
          group.addLayer(geoLayer(layer, layer.shapes));
          keepOutlinesOnTop();
        })
        .catch(function (error) {
          state = "idle";
          console.warn("geodx: could not load " + spec.url + ": " + error.message);
        });
    });
    return group;
  }

  function box(position, build) {
    var control = L.control({ position: position });
    control.onAdd = function () {
      var div = node("div", "geodx-box");
      build(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    control.addTo(map);
  }

  function title(div) {
    div.appendChild(node("div", "geodx-title", data.title));
    div.appendChild(node("div", null, data.subtitle));
    if (data.synthetic) {
      div.appendChild(node("div", "geodx-synthetic", data.synthetic));
    }
  }

  function legend(div) {
    var spec = data.legend;
    div.appendChild(node("b", null, spec.heading));
    div.appendChild(node("div", null, spec.pivot));
    spec.classes.forEach(function (cls) {
      var row = node("div", "geodx-class");
      var swatch = node("i");
      swatch.style.background = cls[1];
      row.appendChild(swatch);
      row.appendChild(document.createTextNode(cls[0] + " (" + cls[2] + ")"));
      div.appendChild(row);
    });
    div.appendChild(node("div", "geodx-counted", spec.counted));
  }

  document.title = data.title || "geodx";
  if (data.bounds) {
    map.fitBounds(data.bounds);
  }
  var control = L.control.layers(null, null, { collapsed: false });
  if (data.tiles) {
    var tiles = L.tileLayer(data.tiles.url, {
      attribution: escapeHtml(data.tiles.attribution),
    });
    tiles.addTo(map);
    control.addBaseLayer(tiles, escapeHtml(data.tiles.name));
  }
  data.overlays.forEach(function (spec) {
    var layer = spec.url ? lazyLayer(spec) : geoLayer(spec, data.shapes[spec.shapes]);
    if (spec.style && spec.style.fill === false) {
      outlines.push(layer);
    }
    if (spec.show) {
      layer.addTo(map);
    }
    control.addOverlay(layer, escapeHtml(spec.name));
  });
  box("topleft", title);
  box("bottomright", legend);
  control.addTo(map);
})();
