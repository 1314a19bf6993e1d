<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="es_ES">
<context>
    <name>About</name>
    <message>
        <source>CovidCXR — research use only</source>
        <translation>CovidCXR — solo para investigación</translation>
    </message>
    <message>
        <source>CovidCXR is research software, not a medical device.</source>
        <translation>CovidCXR es software de investigación, no un producto sanitario.</translation>
    </message>
    <message>
        <source>A result is the output of a neural network trained on public image collections. It can be wrong, it is not calibrated for your scanners or population, and a heat map does not show where disease is.</source>
        <translation>Un resultado es la salida de una red neuronal entrenada con colecciones públicas de imágenes. Puede equivocarse, no está calibrado para sus equipos ni para su población, y un mapa de calor no muestra dónde está la enfermedad.</translation>
    </message>
    <message>
        <source>I understand</source>
        <translation>Entendido</translation>
    </message>
    <message>
        <source>Chest X-ray classifier for COVID-19 (COVID / NOT COVID / NOT ASSESSED).</source>
        <translation>Clasificador de radiografías de tórax para COVID-19 (COVID / NO COVID / NO EVALUADA).</translation>
    </message>
    <message>
        <source>Intended use</source>
        <translation>Uso previsto</translation>
    </message>
    <message>
        <source>No model loaded.</source>
        <translation>No hay ningún modelo cargado.</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modelo</translation>
    </message>
    <message>
        <source>Model card</source>
        <translation>Ficha del modelo</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Nombre</translation>
    </message>
    <message>
        <source>Architecture</source>
        <translation>Arquitectura</translation>
    </message>
    <message>
        <source>Input size</source>
        <translation>Tamaño de entrada</translation>
    </message>
    <message>
        <source>{0} x {0} (grayscale)</source>
        <translation>{0} x {0} (escala de grises)</translation>
    </message>
    <message>
        <source>Classes</source>
        <translation>Clases</translation>
    </message>
    <message>
        <source>Threshold</source>
        <translation>Umbral</translation>
    </message>
    <message>
        <source>from public collections; not validated at this site: validate it on your own labelled films (Validate tab)</source>
        <translation>procedente de colecciones públicas; no validado en este centro: valídelo con sus propias radiografías etiquetadas (pestaña Validar)</translation>
    </message>
    <message>
        <source>Preprocessing</source>
        <translation>Preprocesado</translation>
    </message>
    <message>
        <source>Out-of-distribution check</source>
        <translation>Control de imágenes fuera de distribución</translation>
    </message>
    <message>
        <source>none</source>
        <translation>ninguno</translation>
    </message>
    <message>
        <source>Created</source>
        <translation>Creado</translation>
    </message>
    <message>
        <source>Weights sha256</source>
        <translation>sha256 de los pesos</translation>
    </message>
    <message>
        <source>Running on</source>
        <translation>Se ejecuta en</translation>
    </message>
    <message>
        <source>Site profile</source>
        <translation>Perfil de centro</translation>
    </message>
    <message>
        <source>Training</source>
        <translation>Entrenamiento</translation>
    </message>
    <message>
        <source>Metrics</source>
        <translation>Métricas</translation>
    </message>
    <message>
        <source>Notes</source>
        <translation>Notas</translation>
    </message>
    <message>
        <source>{0} (95% CI {1}–{2})</source>
        <translation>{0} (IC 95 % {1}–{2})</translation>
    </message>
    <message>
        <source>Site</source>
        <translation>Centro</translation>
    </message>
    <message>
        <source>Made</source>
        <translation>Creado</translation>
    </message>
    <message>
        <source>Threshold rule</source>
        <translation>Regla del umbral</translation>
    </message>
    <message>
        <source>Recalibrated</source>
        <translation>Recalibrado</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>sí</translation>
    </message>
    <message>
        <source>no</source>
        <translation>no</translation>
    </message>
    <message>
        <source>Validated on</source>
        <translation>Validado con</translation>
    </message>
    <message>
        <source>Images per class</source>
        <translation>Imágenes por clase</translation>
    </message>
    <message>
        <source>File list sha256</source>
        <translation>sha256 de la lista de archivos</translation>
    </message>
    <message>
        <source>Model it adjusts</source>
        <translation>Modelo que ajusta</translation>
    </message>
    <message>
        <source>Sensitivity</source>
        <translation>Sensibilidad</translation>
    </message>
    <message>
        <source>Specificity</source>
        <translation>Especificidad</translation>
    </message>
    <message>
        <source>About CovidCXR</source>
        <translation>Acerca de CovidCXR</translation>
    </message>
</context>
<context>
    <name>ClassifyPage</name>
    <message>
        <source>Open files…</source>
        <translation>Abrir archivos…</translation>
    </message>
    <message>
        <source>Open folder…</source>
        <translation>Abrir carpeta…</translation>
    </message>
    <message>
        <source>Show only rows with this decision</source>
        <translation>Mostrar solo las filas con esta decisión</translation>
    </message>
    <message>
        <source>Show:</source>
        <translation>Mostrar:</translation>
    </message>
    <message>
        <source>idle</source>
        <translation>en espera</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancelar</translation>
    </message>
    <message>
        <source>Stop classifying (files already done keep their result)</source>
        <translation>Detener la clasificación (los archivos ya procesados conservan su resultado)</translation>
    </message>
    <message>
        <source>Validate on these films…</source>
        <translation>Validar con estas radiografías…</translation>
    </message>
    <message>
        <source>Open the Validate tab on this folder: measure the model on your own labelled films and choose a threshold for this site</source>
        <translation>Abrir la pestaña Validar con esta carpeta: medir el modelo con sus propias radiografías etiquetadas y elegir un umbral para este centro</translation>
    </message>
    <message>
        <source>Heat map (H)</source>
        <translation>Mapa de calor (H)</translation>
    </message>
    <message>
        <source>Heat-map opacity</source>
        <translation>Opacidad del mapa de calor</translation>
    </message>
    <message>
        <source>Opacity</source>
        <translation>Opacidad</translation>
    </message>
    <message>
        <source>loading model…</source>
        <translation>cargando el modelo…</translation>
    </message>
    <message>
        <source>{0} waiting</source>
        <translation>{0} en espera</translation>
    </message>
    <message>
        <source>finding files…</source>
        <translation>buscando archivos…</translation>
    </message>
    <message>
        <source>{0} img/s</source>
        <translation>{0} img/s</translation>
    </message>
    <message>
        <source>Export predicted.csv</source>
        <extracomment>An &quot;Export DICOM results&quot; ended: its ExportSummary, or None when it failed. A line for the status bar: (text, milliseconds to show it; 0 until replaced). The DICOM export may start (False while one runs).</extracomment>
        <translation>Exportar predicted.csv</translation>
    </message>
    <message>
        <source>There are no results yet.</source>
        <translation>Todavía no hay resultados.</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>Archivos CSV (*.csv)</translation>
    </message>
    <message>
        <source>Could not write {0}:
{1}</source>
        <translation>No se pudo escribir {0}:
{1}</translation>
    </message>
    <message>
        <source>wrote 1 row to {1}</source>
        <translation>se escribió 1 fila en {1}</translation>
    </message>
    <message>
        <source>wrote {0} rows to {1}</source>
        <translation>se escribieron {0} filas en {1}</translation>
    </message>
    <message>
        <source> (1 file has no result yet)</source>
        <translation> (1 archivo aún no tiene resultado)</translation>
    </message>
    <message>
        <source> ({0} files have no result yet)</source>
        <translation> ({0} archivos aún no tienen resultado)</translation>
    </message>
    <message>
        <source>Export DICOM results</source>
        <translation>Exportar resultados DICOM</translation>
    </message>
    <message>
        <source>There is no DICOM film with a result yet: only DICOM inputs get DICOM results.</source>
        <translation>Todavía no hay ninguna radiografía DICOM con resultado: solo las entradas DICOM reciben resultados DICOM.</translation>
    </message>
    <message>
        <source>No model is loaded.</source>
        <translation>No hay ningún modelo cargado.</translation>
    </message>
    <message>
        <source>Folder for the DICOM results</source>
        <translation>Carpeta para los resultados DICOM</translation>
    </message>
    <message>
        <source>writing DICOM results…</source>
        <translation>escribiendo los resultados DICOM…</translation>
    </message>
    <message>
        <source>1 DICOM result (SR + SC) written to {1}</source>
        <translation>1 resultado DICOM (SR + SC) escrito en {1}</translation>
    </message>
    <message>
        <source>{0} DICOM results (SR + SC) written to {1}</source>
        <translation>{0} resultados DICOM (SR + SC) escritos en {1}</translation>
    </message>
    <message>
        <source>1 non-DICOM input gets none</source>
        <translation>1 entrada no DICOM no recibe ninguno</translation>
    </message>
    <message>
        <source>{0} non-DICOM inputs get none</source>
        <translation>{0} entradas no DICOM no reciben ninguno</translation>
    </message>
    <message>
        <source>{0} unreadable</source>
        <translation>{0} ilegibles</translation>
    </message>
    <message>
        <source>{0} failed</source>
        <translation>{0} fallidos</translation>
    </message>
    <message>
        <source>Could not write to {0}:
{1}</source>
        <translation>No se pudo escribir en {0}:
{1}</translation>
    </message>
    <message>
        <source>Images ({0});;All files (*)</source>
        <translation>Imágenes ({0});;Todos los archivos (*)</translation>
    </message>
    <message>
        <source>&amp;Open files…</source>
        <extracomment>A model finished loading (LoadedModel) or failed to (None). Every queued file has a result (or the run was cancelled): the page is idle. The selected image (and its heat map, when there is a model) is on screen. An &quot;Export DICOM results&quot; ended: its ExportSummary, or None when it failed. &quot;Validate on these films…&quot;: the Validate page opens on this folder. The last run&apos;s site check was shown (core.model.site.SiteCheck). A line for the window&apos;s status bar: (text, milliseconds; 0 until replaced). The last run&apos;s site check (core.model.site.SiteCheck) and the folder it covered.</extracomment>
        <translation>&amp;Abrir archivos…</translation>
    </message>
    <message>
        <source>Open &amp;folder…</source>
        <translation>Abrir &amp;carpeta…</translation>
    </message>
    <message>
        <source>Classify every image in a folder and its subfolders</source>
        <translation>Clasificar todas las imágenes de una carpeta y de sus subcarpetas</translation>
    </message>
    <message>
        <source>&amp;Export predicted.csv…</source>
        <translation>&amp;Exportar predicted.csv…</translation>
    </message>
    <message>
        <source>Write the results as the command line does</source>
        <translation>Escribir los resultados igual que la línea de órdenes</translation>
    </message>
    <message>
        <source>Export &amp;DICOM results…</source>
        <translation>Exportar resultados &amp;DICOM…</translation>
    </message>
    <message>
        <source>For each DICOM film: a Structured Report and a heat-map Secondary Capture in its study, to file in a PACS</source>
        <translation>Para cada radiografía DICOM: un informe estructurado (SR) y una captura secundaria (SC) con el mapa de calor en su estudio, para archivar en un PACS</translation>
    </message>
    <message>
        <source>&amp;PACS…</source>
        <translation>&amp;PACS…</translation>
    </message>
    <message>
        <source>Find studies in the hospital&apos;s PACS and classify their films; the node&apos;s settings</source>
        <translation>Buscar estudios en el PACS del hospital y clasificar sus placas; la configuración del nodo</translation>
    </message>
    <message>
        <source>&amp;Send results to PACS…</source>
        <translation>&amp;Enviar resultados al PACS…</translation>
    </message>
    <message>
        <source>Write each DICOM film&apos;s Structured Report and heat-map capture and send them to the PACS (C-STORE)</source>
        <translation>Escribir el informe estructurado y la captura con el mapa de calor de cada placa DICOM y enviarlos al PACS (C-STORE)</translation>
    </message>
    <message>
        <source>&amp;Retry sending results</source>
        <translation>&amp;Reintentar el envío de resultados</translation>
    </message>
    <message>
        <source>Send again the results the PACS did not take</source>
        <translation>Enviar de nuevo los resultados que el PACS no aceptó</translation>
    </message>
    <message>
        <source>&amp;Cancel classification</source>
        <translation>Ca&amp;ncelar la clasificación</translation>
    </message>
    <message>
        <source>&amp;Heat map</source>
        <translation>&amp;Mapa de calor</translation>
    </message>
    <message>
        <source>&amp;Invert</source>
        <translation>&amp;Invertir</translation>
    </message>
    <message>
        <source>&amp;Reset view</source>
        <translation>&amp;Restablecer la vista</translation>
    </message>
    <message>
        <source>Original contrast, not inverted, whole image</source>
        <translation>Contraste original, sin invertir, imagen completa</translation>
    </message>
    <message>
        <source>&amp;Fit to window</source>
        <translation>&amp;Ajustar a la ventana</translation>
    </message>
    <message>
        <source>&amp;Lung outline</source>
        <translation>&amp;Contorno pulmonar</translation>
    </message>
    <message>
        <source>The lung fields the segmenter found, over the image</source>
        <translation>Los campos pulmonares que encontró el segmentador, sobre la imagen</translation>
    </message>
    <message>
        <source>{0} done</source>
        <translation>{0} procesadas</translation>
    </message>
    <message>
        <source>Open X-ray images</source>
        <translation>Abrir radiografías</translation>
    </message>
    <message>
        <source>Open a folder of X-ray images</source>
        <translation>Abrir una carpeta de radiografías</translation>
    </message>
    <message>
        <source>Site check: new site, {0} of {1} films unlike the reference: these films differ from those the model was checked on; its threshold is not valid here: validate it on your own labelled films (distance {2} against {3}; called COVID {4})</source>
        <translation>Control del centro: centro nuevo, {0} de {1} radiografías distintas de la referencia: estas radiografías difieren de aquellas con las que se comprobó el modelo; su umbral no es válido aquí: valídelo con sus propias radiografías etiquetadas (distancia {2} frente a {3}; clasificadas como COVID {4})</translation>
    </message>
    <message>
        <source>Site check: familiar, matches site profile {0} ({1} films)</source>
        <translation>Control del centro: conocidas, coinciden con el perfil de centro {0} ({1} radiografías)</translation>
    </message>
    <message>
        <source>Site check: familiar: these films resemble those the model was checked on ({0} films)</source>
        <translation>Control del centro: conocidas: estas radiografías se parecen a aquellas con las que se comprobó el modelo ({0} radiografías)</translation>
    </message>
    <message>
        <source>Model: {0} · threshold {1}</source>
        <translation>Modelo: {0} · umbral {1}</translation>
    </message>
    <message>
        <source> · threshold from public collections, not validated at this site</source>
        <translation> · umbral procedente de colecciones públicas, no validado en este centro</translation>
    </message>
    <message>
        <source> · frontal-film check: lung anatomy only (no classifier fitted for this model)</source>
        <translation> · control de radiografía frontal: solo la anatomía pulmonar (no hay clasificador ajustado para este modelo)</translation>
    </message>
    <message>
        <source>Device: {0}</source>
        <translation>Dispositivo: {0}</translation>
    </message>
    <message>
        <source>Loading model…</source>
        <translation>Cargando el modelo…</translation>
    </message>
    <message>
        <source>Device: starting TensorFlow…</source>
        <translation>Dispositivo: iniciando TensorFlow…</translation>
    </message>
    <message>
        <source>No model: {0}</source>
        <translation>Sin modelo: {0}</translation>
    </message>
    <message>
        <source>Device: —</source>
        <translation>Dispositivo: —</translation>
    </message>
    <message>
        <source>Select a row to see the image.</source>
        <extracomment>The selected image (and its heat map, when there is a model) is on screen.</extracomment>
        <translation>Seleccione una fila para ver la imagen.</translation>
    </message>
    <message>
        <source>no heat map: no model</source>
        <translation>sin mapa de calor: no hay modelo</translation>
    </message>
    <message>
        <source>no heat map: waiting for the result</source>
        <translation>sin mapa de calor: esperando el resultado</translation>
    </message>
    <message>
        <source>no heat map: file could not be read</source>
        <translation>sin mapa de calor: no se pudo leer el archivo</translation>
    </message>
    <message>
        <source>heat map: computing…</source>
        <translation>mapa de calor: calculando…</translation>
    </message>
    <message>
        <source>Cannot show {0}:
{1}</source>
        <translation>No se puede mostrar {0}:
{1}</translation>
    </message>
    <message>
        <source>heat map: evidence for {0}</source>
        <translation>mapa de calor: indicios a favor de {0}</translation>
    </message>
    <message>
        <source>heat map: no region raised P({0})</source>
        <translation>mapa de calor: ninguna región aumentó P({0})</translation>
    </message>
</context>
<context>
    <name>ClassifySession</name>
    <message>
        <source>{0} not found</source>
        <extracomment>A run of files ended with a site check (core.model.site.SiteCheck, folder they share)</extracomment>
        <translation>no se encuentra {0}</translation>
    </message>
    <message>
        <source>cannot list files: {0}</source>
        <translation>no se pueden listar los archivos: {0}</translation>
    </message>
    <message>
        <source>no image files in {0}</source>
        <translation>no hay archivos de imagen en {0}</translation>
    </message>
    <message>
        <source>1 file found</source>
        <translation>1 archivo encontrado</translation>
    </message>
    <message>
        <source>{0} files found</source>
        <translation>{0} archivos encontrados</translation>
    </message>
    <message>
        <source>classification stopped: {0}</source>
        <translation>clasificación detenida: {0}</translation>
    </message>
</context>
<context>
    <name>DatasetPanel</name>
    <message>
        <source>Leave unreadable files out of training (they are listed above).</source>
        <translation>Excluir del entrenamiento los archivos ilegibles (aparecen en la lista de arriba).</translation>
    </message>
    <message>
        <source>Train although the same picture sits in two splits. Validation and test scores will then be too optimistic.</source>
        <translation>Entrenar aunque la misma imagen esté en dos particiones. Los resultados de validación y de prueba serán entonces demasiado optimistas.</translation>
    </message>
    <message>
        <source>Dataset</source>
        <translation>Conjunto de datos</translation>
    </message>
    <message>
        <source>one sub-folder per class</source>
        <translation>una subcarpeta por clase</translation>
    </message>
    <message>
        <source>Choose folder…</source>
        <translation>Elegir carpeta…</translation>
    </message>
    <message>
        <source>A folder with one sub-folder per class (e.g. COVID, Normal), optionally inside train/val/test folders, with an optional manifest.csv</source>
        <translation>Una carpeta con una subcarpeta por clase (p. ej. COVID, Normal), opcionalmente dentro de carpetas train/val/test y con un manifest.csv opcional</translation>
    </message>
    <message>
        <source>The class the model calls COVID; every other class is NOT COVID</source>
        <translation>La clase que el modelo llama COVID; cualquier otra clase es NO COVID</translation>
    </message>
    <message>
        <source>— choose —</source>
        <translation>— elegir —</translation>
    </message>
    <message>
        <source>Positive class:</source>
        <translation>Clase positiva:</translation>
    </message>
    <message>
        <source>Skip unreadable files</source>
        <translation>Omitir los archivos ilegibles</translation>
    </message>
    <message>
        <source>Train despite near-duplicates across splits</source>
        <translation>Entrenar pese a los casi duplicados entre particiones</translation>
    </message>
    <message>
        <source>Choose a dataset folder (one sub-folder per class)</source>
        <translation>Elija la carpeta del conjunto de datos (una subcarpeta por clase)</translation>
    </message>
    <message>
        <source>Splits: {0}.</source>
        <translation>Particiones: {0}.</translation>
    </message>
    <message>
        <source>checking images…</source>
        <translation>comprobando las imágenes…</translation>
    </message>
    <message>
        <source>… and {0} more</source>
        <translation>… y {0} más</translation>
    </message>
    <message>
        <source>All {0} images read; no problems found.</source>
        <translation>Se leyeron las {0} imágenes; no se encontró ningún problema.</translation>
    </message>
</context>
<context>
    <name>LivePanel</name>
    <message>
        <source>No training yet.</source>
        <translation>Todavía no hay entrenamiento.</translation>
    </message>
    <message>
        <source>Starting TensorFlow…</source>
        <translation>Iniciando TensorFlow…</translation>
    </message>
    <message>
        <source>Epoch {0} of at most {1}</source>
        <translation>Época {0} de {1} como máximo</translation>
    </message>
    <message>
        <source>best so far: {0}</source>
        <translation>la mejor hasta ahora: {0}</translation>
    </message>
    <message>
        <source>{0} elapsed · at most {1} left (early stopping may end sooner)</source>
        <translation>{0} transcurrido · quedan {1} como máximo (la parada temprana puede terminar antes)</translation>
    </message>
    <message>
        <source>you stopped it</source>
        <translation>lo detuvo usted</translation>
    </message>
    <message>
        <source>early stopping</source>
        <translation>parada temprana</translation>
    </message>
    <message>
        <source>all epochs done</source>
        <translation>se completaron todas las épocas</translation>
    </message>
    <message>
        <source>Finished after {0} epoch(s) ({1}); the weights of epoch {2} are kept.</source>
        <translation>Terminado tras {0} época(s) ({1}); se conservan los pesos de la época {2}.</translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation>Cancelado.</translation>
    </message>
    <message>
        <source>Training failed.</source>
        <translation>El entrenamiento ha fallado.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>{0} — chest X-ray classifier (research use only)</source>
        <extracomment>The first time the window paints (start-up benchmark; starts the model load).</extracomment>
        <translation>{0} — clasificador de radiografías de tórax (solo para investigación)</translation>
    </message>
    <message>
        <source>Classify</source>
        <translation>Clasificar</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Salir</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Archivo</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Ver</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>&amp;Idioma</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>Ay&amp;uda</translation>
    </message>
    <message>
        <source>&amp;Viewer controls</source>
        <translation>&amp;Controles del visor</translation>
    </message>
    <message>
        <source>&amp;About CovidCXR…</source>
        <translation>&amp;Acerca de CovidCXR…</translation>
    </message>
    <message>
        <source>System language</source>
        <translation>Idioma del sistema</translation>
    </message>
    <message>
        <source>Applies when CovidCXR starts again</source>
        <translation>Se aplica al volver a abrir CovidCXR</translation>
    </message>
    <message>
        <source>The language changes when CovidCXR starts again.</source>
        <translation>El idioma cambiará al volver a abrir CovidCXR.</translation>
    </message>
    <message>
        <source>Viewer controls</source>
        <translation>Controles del visor</translation>
    </message>
    <message>
        <source>the model is still loading</source>
        <translation>el modelo aún se está cargando</translation>
    </message>
</context>
<context>
    <name>MetadataPanel</name>
    <message>
        <source>Field</source>
        <translation>Campo</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>Valor</translation>
    </message>
    <message>
        <source>Show identifying fields</source>
        <translation>Mostrar los datos identificativos</translation>
    </message>
    <message>
        <source>Show patient name, ID and birth date from DICOM files. Off by default; not remembered between sessions.</source>
        <translation>Mostrar el nombre, el identificador y la fecha de nacimiento del paciente de los archivos DICOM. Desactivado por defecto; no se recuerda entre sesiones.</translation>
    </message>
    <message>
        <source>Decision</source>
        <translation>Decisión</translation>
    </message>
    <message>
        <source>Threshold</source>
        <translation>Umbral</translation>
    </message>
    <message>
        <source>Unusual for this model</source>
        <translation>Inusual para este modelo</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>sí</translation>
    </message>
    <message>
        <source>no</source>
        <translation>no</translation>
    </message>
    <message>
        <source>Distance score</source>
        <translation>Puntuación de distancia</translation>
    </message>
    <message>
        <source>{0} (above 1 = unusual)</source>
        <translation>{0} (por encima de 1 = inusual)</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>Mensaje</translation>
    </message>
    <message>
        <source>Path</source>
        <translation>Ruta</translation>
    </message>
</context>
<context>
    <name>ModelLibrary</name>
    <message>
        <source>Bundled model ({0})</source>
        <translation>Modelo incluido ({0})</translation>
    </message>
    <message>
        <source>not found</source>
        <translation>no encontrado</translation>
    </message>
    <message>
        <source>threshold {0}, {1}; validated on {2} ({3})</source>
        <translation>umbral {0}, {1}; validado con {2} ({3})</translation>
    </message>
</context>
<context>
    <name>ModelsPanel</name>
    <message>
        <source>Models</source>
        <translation>Modelos</translation>
    </message>
    <message>
        <source>Models you can classify with: the bundled model and the ones you saved (✓ = in use)</source>
        <translation>Modelos con los que puede clasificar: el modelo incluido y los que ha guardado (✓ = en uso)</translation>
    </message>
    <message>
        <source>Use</source>
        <translation>Usar</translation>
    </message>
    <message>
        <source>Classify with the selected model</source>
        <translation>Clasificar con el modelo seleccionado</translation>
    </message>
    <message>
        <source>Restore bundled model</source>
        <translation>Restaurar el modelo incluido</translation>
    </message>
    <message>
        <source>Classify with the model that ships with CovidCXR</source>
        <translation>Clasificar con el modelo que viene con CovidCXR</translation>
    </message>
</context>
<context>
    <name>Numbers</name>
    <message>
        <source>n/a</source>
        <extracomment>``translate(context, text, disambiguation=None, n=-1)``; named so that lupdate finds it. What View &gt; Language offers: &quot;&quot; follows the system. Languages with a translation of the window (English is the source text).</extracomment>
        <translation>n/d</translation>
    </message>
</context>
<context>
    <name>PacsDialog</name>
    <message>
        <source>Patient</source>
        <translation>Paciente</translation>
    </message>
    <message>
        <source>Patient ID</source>
        <translation>ID del paciente</translation>
    </message>
    <message>
        <source>Date</source>
        <translation>Fecha</translation>
    </message>
    <message>
        <source>Modalities</source>
        <translation>Modalidades</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>Descripción</translation>
    </message>
    <message>
        <source>Films</source>
        <translation>Placas</translation>
    </message>
    <message>
        <source>PACS</source>
        <translation>PACS</translation>
    </message>
    <message>
        <source>&amp;Retrieve and classify</source>
        <translation>&amp;Recuperar y clasificar</translation>
    </message>
    <message>
        <source>Fetch the CR and DX films of the selected studies and classify them, as if they were dropped on the window</source>
        <translation>Traer las placas CR y DX de los estudios seleccionados y clasificarlas, como si se hubieran soltado en la ventana</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Detener</translation>
    </message>
    <message>
        <source>Connection (shared with covidcxr listen)</source>
        <translation>Conexión (compartida con covidcxr listen)</translation>
    </message>
    <message>
        <source>PACS (AE@host:port):</source>
        <translation>PACS (AE@equipo:puerto):</translation>
    </message>
    <message>
        <source>Our AE title:</source>
        <translation>Nuestro título AE:</translation>
    </message>
    <message>
        <source>C-GET (no port opened here)</source>
        <translation>C-GET (no se abre ningún puerto aquí)</translation>
    </message>
    <message>
        <source>C-MOVE (the PACS connects back to us)</source>
        <translation>C-MOVE (el PACS se conecta de vuelta a nosotros)</translation>
    </message>
    <message>
        <source>Retrieve with:</source>
        <translation>Recuperar con:</translation>
    </message>
    <message>
        <source>port</source>
        <translation>puerto</translation>
    </message>
    <message>
        <source>We listen on:</source>
        <translation>Escuchamos en:</translation>
    </message>
    <message>
        <source>Accepted calling AE titles:</source>
        <translation>Títulos AE que pueden llamar:</translation>
    </message>
    <message>
        <source>empty: the PACS above</source>
        <translation>vacío: el PACS de arriba</translation>
    </message>
    <message>
        <source>Send results to:</source>
        <translation>Enviar resultados a:</translation>
    </message>
    <message>
        <source>&amp;Save settings</source>
        <translation>&amp;Guardar configuración</translation>
    </message>
    <message>
        <source>&amp;Test connection</source>
        <translation>&amp;Probar conexión</translation>
    </message>
    <message>
        <source>Find studies</source>
        <translation>Buscar estudios</translation>
    </message>
    <message>
        <source>e.g. Doe* (wildcards * ?)</source>
        <translation>p. ej. Pérez* (comodines * ?)</translation>
    </message>
    <message>
        <source>Patient name:</source>
        <translation>Nombre del paciente:</translation>
    </message>
    <message>
        <source>Patient ID:</source>
        <translation>ID del paciente:</translation>
    </message>
    <message>
        <source>Any date</source>
        <translation>Cualquier fecha</translation>
    </message>
    <message>
        <source>Study date:</source>
        <translation>Fecha del estudio:</translation>
    </message>
    <message>
        <source>&amp;Find</source>
        <translation>&amp;Buscar</translation>
    </message>
    <message>
        <source>Modality:</source>
        <translation>Modalidad:</translation>
    </message>
    <message>
        <source>Could not save the settings: {0}</source>
        <translation>No se pudo guardar la configuración: {0}</translation>
    </message>
    <message>
        <source>Settings saved in {0}</source>
        <translation>Configuración guardada en {0}</translation>
    </message>
    <message>
        <source>Name the PACS first: its AE title, host and port, as AE@host:port.</source>
        <translation>Indique primero el PACS: su título AE, equipo y puerto, como AE@equipo:puerto.</translation>
    </message>
    <message>
        <source>Calling {0}…</source>
        <translation>Llamando a {0}…</translation>
    </message>
    <message>
        <source>{0} answers ({1} ms).</source>
        <translation>{0} responde ({1} ms).</translation>
    </message>
    <message>
        <source>Searching {0}…</source>
        <translation>Buscando en {0}…</translation>
    </message>
    <message>
        <source>{0} studies found.</source>
        <translation>{0} estudios encontrados.</translation>
    </message>
    <message>
        <source>Select one or more studies first.</source>
        <translation>Seleccione primero uno o más estudios.</translation>
    </message>
    <message>
        <source>Retrieving {0} studies from {1}…</source>
        <translation>Recuperando {0} estudios de {1}…</translation>
    </message>
    <message>
        <source>Retrieving: {0} films so far…</source>
        <translation>Recuperando: {0} placas hasta ahora…</translation>
    </message>
    <message>
        <source>{0} films retrieved and sent to the table.</source>
        <translation>{0} placas recuperadas y enviadas a la tabla.</translation>
    </message>
    <message>
        <source>{0} could not be fetched: {1}</source>
        <translation>{0} no se pudieron traer: {1}</translation>
    </message>
    <message>
        <source>Stopped.</source>
        <translation>Detenido.</translation>
    </message>
</context>
<context>
    <name>PacsLink</name>
    <message>
        <source>Send results to PACS</source>
        <translation>Enviar resultados al PACS</translation>
    </message>
    <message>
        <source>No PACS is set: open File ▸ PACS…, name the PACS (or where results go) and save the settings.</source>
        <translation>No hay ningún PACS configurado: abra Archivo ▸ PACS…, indique el PACS (o adónde van los resultados) y guarde la configuración.</translation>
    </message>
    <message>
        <source>There is no DICOM film with a result yet: only DICOM inputs get DICOM results.</source>
        <translation>Todavía no hay ninguna placa DICOM con resultado: solo las entradas DICOM reciben resultados DICOM.</translation>
    </message>
    <message>
        <source>sending results to {0}…</source>
        <translation>enviando resultados a {0}…</translation>
    </message>
    <message>
        <source>{0} of {1} result objects sent to {2}</source>
        <translation>{0} de {1} objetos de resultado enviados a {2}</translation>
    </message>
    <message>
        <source>; {0} not sent, kept in {1} (File ▸ Retry sending results)</source>
        <translation>; {0} sin enviar, guardados en {1} (Archivo ▸ Reintentar el envío de resultados)</translation>
    </message>
    <message>
        <source>; {0} films got no result</source>
        <translation>; {0} placas sin resultado</translation>
    </message>
    <message>
        <source>Nothing was sent: {0}</source>
        <translation>No se envió nada: {0}</translation>
    </message>
</context>
<context>
    <name>RecipePanel</name>
    <message>
        <source>Start from the weights of an existing model (fine-tuning: fastest, needs fewer images; its input size and preprocessing are kept), from the ImageNet backbone (EfficientNet-Lite0 at 224 px: the backbone stays frozen and only the head is fitted; the recipe of the bundled model), or from random weights.</source>
        <translation>Partir de los pesos de un modelo existente (ajuste fino: lo más rápido, necesita menos imágenes; se conservan su tamaño de entrada y su preprocesado), de la red base de ImageNet (EfficientNet-Lite0 a 224 px: la red base queda congelada y solo se ajusta la cabeza; la receta del modelo incluido) o de pesos aleatorios.</translation>
    </message>
    <message>
        <source>The most passes over the training images. Early stopping usually ends sooner.</source>
        <translation>El número máximo de pasadas por las imágenes de entrenamiento. La parada temprana suele terminar antes.</translation>
    </message>
    <message>
        <source>Images per training step. Smaller uses less memory (try it after an out-of-memory error); larger is smoother but may generalise worse.</source>
        <translation>Imágenes por paso de entrenamiento. Un lote más pequeño usa menos memoria (pruébelo tras un error de memoria insuficiente); uno mayor es más estable, pero puede generalizar peor.</translation>
    </message>
    <message>
        <source>Adam learning rate: how big each weight update is. Too high and the loss jumps about; too low and training crawls.</source>
        <translation>Tasa de aprendizaje de Adam: el tamaño de cada actualización de los pesos. Demasiado alta y la pérdida oscila; demasiado baja y el entrenamiento avanza muy despacio.</translation>
    </message>
    <message>
        <source>Early stopping: stop after this many epochs without the validation loss improving by at least the minimum change. The best epoch&apos;s weights are kept.</source>
        <translation>Parada temprana: detener tras este número de épocas sin que la pérdida de validación mejore al menos el cambio mínimo. Se conservan los pesos de la mejor época.</translation>
    </message>
    <message>
        <source>Early stopping: the smallest drop in validation loss that counts as progress.</source>
        <translation>Parada temprana: la menor bajada de la pérdida de validación que cuenta como mejora.</translation>
    </message>
    <message>
        <source>Random changes to the training images so the network learns the lungs, not one scanner&apos;s look. Flips: the seed&apos;s left-right flips. Strong: flips plus contrast, gamma, blur, noise, JPEG, crop/scale and small rotations.</source>
        <translation>Cambios aleatorios en las imágenes de entrenamiento para que la red aprenda los pulmones y no el aspecto de un equipo concreto. Volteos: los volteos izquierda-derecha de la receta base. Fuerte: volteos más contraste, gamma, desenfoque, ruido, JPEG, recorte/escala y pequeñas rotaciones.</translation>
    </message>
    <message>
        <source>Where to train (TensorFlow&apos;s tf.distribute). The batch size is per device, so with two GPUs each step sees twice as many images. Several machines: covidcxr train --strategy multiworker (see the README).</source>
        <translation>Dónde entrenar (tf.distribute de TensorFlow). El tamaño de lote es por dispositivo, así que con dos GPU cada paso ve el doble de imágenes. Varias máquinas: covidcxr train --strategy multiworker (véase el README).</translation>
    </message>
    <message>
        <source>Weight each class by its rarity so an imbalanced dataset does not teach the network to always answer the larger class.</source>
        <translation>Ponderar cada clase según su rareza para que un conjunto desequilibrado no enseñe a la red a responder siempre la clase mayoritaria.</translation>
    </message>
    <message>
        <source>Recipe</source>
        <translation>Receta</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>Desactivado</translation>
    </message>
    <message>
        <source>Left-right flips</source>
        <translation>Volteos izquierda-derecha</translation>
    </message>
    <message>
        <source>Strong (flips, contrast, blur, noise…)</source>
        <translation>Fuerte (volteos, contraste, desenfoque, ruido…)</translation>
    </message>
    <message>
        <source>Balance classes</source>
        <translation>Equilibrar las clases</translation>
    </message>
    <message>
        <source>Automatic (every GPU when there are several)</source>
        <translation>Automático (todas las GPU cuando hay varias)</translation>
    </message>
    <message>
        <source>One device</source>
        <translation>Un dispositivo</translation>
    </message>
    <message>
        <source>Every GPU of this computer (mirrored)</source>
        <translation>Todas las GPU de este equipo (en espejo)</translation>
    </message>
    <message>
        <source>Seed defaults</source>
        <translation>Valores de la receta base</translation>
    </message>
    <message>
        <source>Put back the seed recipe&apos;s values</source>
        <translation>Restablecer los valores de la receta base</translation>
    </message>
    <message>
        <source>Start from:</source>
        <translation>Partir de:</translation>
    </message>
    <message>
        <source>Epochs (at most):</source>
        <translation>Épocas (como máximo):</translation>
    </message>
    <message>
        <source>Batch size:</source>
        <translation>Tamaño de lote:</translation>
    </message>
    <message>
        <source>Learning rate:</source>
        <translation>Tasa de aprendizaje:</translation>
    </message>
    <message>
        <source>Early-stop patience:</source>
        <translation>Paciencia de parada:</translation>
    </message>
    <message>
        <source>Early-stop min change:</source>
        <translation>Mejora mínima de parada:</translation>
    </message>
    <message>
        <source>Augmentation:</source>
        <translation>Aumento de datos:</translation>
    </message>
    <message>
        <source>Class weights:</source>
        <translation>Pesos de clase:</translation>
    </message>
    <message>
        <source>Devices:</source>
        <translation>Dispositivos:</translation>
    </message>
    <message>
        <source>the starting model&apos;s card</source>
        <translation>la ficha del modelo de partida</translation>
    </message>
    <message>
        <source>the ImageNet transfer recipe</source>
        <translation>la receta de transferencia desde ImageNet</translation>
    </message>
    <message>
        <source>the seed recipe</source>
        <translation>la receta base</translation>
    </message>
    <message>
        <source>whole image</source>
        <translation>imagen completa</translation>
    </message>
    <message>
        <source>central {0}</source>
        <translation>{0} central</translation>
    </message>
    <message>
        <source>, histogram equalised</source>
        <translation>, histograma ecualizado</translation>
    </message>
    <message>
        <source>{0} network, {1} × {1} px input, {2}{3} (from {4})</source>
        <translation>red {0}, entrada de {1} × {1} px, {2}{3} (según {4})</translation>
    </message>
</context>
<context>
    <name>Report</name>
    <message>
        <source>{0} films assessed by the model; 95% bootstrap percentile intervals from {1} resamples of patients (seed {2}).</source>
        <extracomment>Files listed by name in the &quot;not assessed&quot; section (the rest are counted).</extracomment>
        <translation>{0} radiografías evaluadas por el modelo; intervalos percentiles bootstrap del 95 % con {1} remuestreos de pacientes (semilla {2}).</translation>
    </message>
    <message>
        <source>{0} films assessed by the model; 95% bootstrap percentile intervals from {1} resamples of images (seed {2}).</source>
        <translation>{0} radiografías evaluadas por el modelo; intervalos percentiles bootstrap del 95 % con {1} remuestreos de imágenes (semilla {2}).</translation>
    </message>
    <message>
        <source>CovidCXR — validation on local films</source>
        <translation>CovidCXR — validación con radiografías locales</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Resultado</translation>
    </message>
    <message>
        <source>threshold</source>
        <translation>umbral</translation>
    </message>
    <message>
        <source>sensitivity</source>
        <translation>sensibilidad</translation>
    </message>
    <message>
        <source>specificity</source>
        <translation>especificidad</translation>
    </message>
    <message>
        <source>PPV</source>
        <translation>VPP</translation>
    </message>
    <message>
        <source>NPV</source>
        <translation>VPN</translation>
    </message>
    <message>
        <source>accuracy</source>
        <translation>exactitud</translation>
    </message>
    <message>
        <source>measure</source>
        <translation>medida</translation>
    </message>
    <message>
        <source>value</source>
        <translation>valor</translation>
    </message>
    <message>
        <source>95% interval</source>
        <translation>intervalo del 95 %</translation>
    </message>
    <message>
        <source>typed by the user: {0}</source>
        <translation>indicada por el usuario: {0}</translation>
    </message>
    <message>
        <source>the folder&apos;s own: {0}</source>
        <translation>la de la propia carpeta: {0}</translation>
    </message>
    <message>
        <source>PPV and NPV at a prevalence {0}. Confusion at this threshold: TP {1}, FN {2}, FP {3}, TN {4}. Expected calibration error {5}.</source>
        <translation>VPP y VPN con una prevalencia {0}. Confusión con este umbral: VP {1}, FN {2}, FP {3}, VN {4}. Error de calibración esperado {5}.</translation>
    </message>
    <message>
        <source>Warnings</source>
        <translation>Advertencias</translation>
    </message>
    <message>
        <source>By sub-group</source>
        <translation>Por subgrupo</translation>
    </message>
    <message>
        <source>sub-group</source>
        <translation>subgrupo</translation>
    </message>
    <message>
        <source>not COVID</source>
        <translation>no COVID</translation>
    </message>
    <message>
        <source>not assessed</source>
        <translation>no evaluadas</translation>
    </message>
    <message>
        <source>AUC (95% CI)</source>
        <translation>AUC (IC 95 %)</translation>
    </message>
    <message>
        <source>Data</source>
        <translation>Datos</translation>
    </message>
    <message>
        <source>Folder {0} ({1}); positive class &lt;b&gt;{2}&lt;/b&gt;; file list sha256 {3}…</source>
        <translation>Carpeta {0} ({1}); clase positiva &lt;b&gt;{2}&lt;/b&gt;; sha256 de la lista de archivos {3}…</translation>
    </message>
    <message>
        <source> (positive)</source>
        <translation> (positiva)</translation>
    </message>
    <message>
        <source>class</source>
        <translation>clase</translation>
    </message>
    <message>
        <source>images</source>
        <translation>imágenes</translation>
    </message>
    <message>
        <source>assessed</source>
        <translation>evaluadas</translation>
    </message>
    <message>
        <source>errors</source>
        <translation>errores</translation>
    </message>
    <message>
        <source>Indeterminate: {0} films whose score moves across the threshold under mirrored, shifted or zoomed views (no hard call; in the metrics by their score)</source>
        <translation>Indeterminadas: {0} placas cuya puntuación cruza el umbral con vistas reflejadas, desplazadas o ampliadas (sin decisión firme; cuentan en las métricas por su puntuación)</translation>
    </message>
    <message>
        <source>interval over views</source>
        <translation>intervalo entre vistas</translation>
    </message>
    <message>
        <source>Not assessed, unreadable or left out</source>
        <translation>No evaluadas, ilegibles o excluidas</translation>
    </message>
    <message>
        <source>file</source>
        <translation>archivo</translation>
    </message>
    <message>
        <source>why</source>
        <translation>motivo</translation>
    </message>
    <message>
        <source>… and {0} more.</source>
        <translation>… y {0} más.</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modelo</translation>
    </message>
    <message>
        <source>name</source>
        <translation>nombre</translation>
    </message>
    <message>
        <source>architecture</source>
        <translation>arquitectura</translation>
    </message>
    <message>
        <source>weights sha256</source>
        <translation>sha256 de los pesos</translation>
    </message>
    <message>
        <source>threshold rule</source>
        <translation>regla del umbral</translation>
    </message>
    <message>
        <source>created</source>
        <translation>creado</translation>
    </message>
    <message>
        <source>from public collections; not validated at this site</source>
        <translation>procedente de colecciones públicas; no validado en este centro</translation>
    </message>
    <message>
        <source>site profile</source>
        <translation>perfil de centro</translation>
    </message>
    <message>
        <source>{0} (made {1})</source>
        <translation>{0} (creado el {1})</translation>
    </message>
    <message>
        <source>its own test split (upper bound)</source>
        <translation>su propia partición de prueba (cota superior)</translation>
    </message>
    <message>
        <source>AUC {0}, sensitivity {1}, specificity {2}</source>
        <translation>AUC {0}, sensibilidad {1}, especificidad {2}</translation>
    </message>
    <message>
        <source>Sensitivity, specificity and the rest are measured on the films above, at the threshold shown; films the model refused as not frontal chest X-rays are not in them and are listed. Intervals describe sampling uncertainty on this data only; they say nothing about other sites, scanners or populations.</source>
        <translation>La sensibilidad, la especificidad y el resto se miden en las radiografías anteriores, con el umbral indicado; las radiografías que el modelo rechazó por no ser radiografías frontales de tórax no se incluyen y se enumeran aparte. Los intervalos describen la incertidumbre de muestreo solo en estos datos; no dicen nada de otros centros, equipos o poblaciones.</translation>
    </message>
    <message>
        <source>CovidCXR validation report</source>
        <translation>Informe de validación de CovidCXR</translation>
    </message>
</context>
<context>
    <name>ResultsModel</name>
    <message>
        <source>queued</source>
        <translation>en cola</translation>
    </message>
    <message>
        <source>loading model…</source>
        <translation>cargando el modelo…</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>cancelado</translation>
    </message>
    <message>
        <source>no model</source>
        <translation>sin modelo</translation>
    </message>
    <message>
        <source>All decisions</source>
        <extracomment>Filter choices shown to the user (English, translated by :func:`filter_text`); ``None`` means all rows.</extracomment>
        <translation>Todas las decisiones</translation>
    </message>
    <message>
        <source>Errors only</source>
        <translation>Solo errores</translation>
    </message>
    <message>
        <source>error: {0}</source>
        <extracomment>Shown beside the decision of a film that is unusual for the model.</extracomment>
        <translation>error: {0}</translation>
    </message>
    <message>
        <source>ok</source>
        <translation>correcto</translation>
    </message>
    <message>
        <source>Image</source>
        <translation>Imagen</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Archivo</translation>
    </message>
    <message>
        <source>P(COVID)</source>
        <translation>P(COVID)</translation>
    </message>
    <message>
        <source>Decision</source>
        <translation>Decisión</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Probability of COVID-19 given by the model; near the threshold, in brackets, its range over mirrored, shifted and zoomed views</source>
        <extracomment>A row&apos;s thumbnail is needed (first time it is shown); the window loads it.</extracomment>
        <translation>Probabilidad de COVID-19 que da el modelo; cerca del umbral, entre paréntesis, su intervalo en vistas volteadas, desplazadas y ampliadas</translation>
    </message>
    <message>
        <source>Probability compared with the model&apos;s threshold; INDETERMINATE when the range of its views straddles the threshold; NOT ASSESSED when the file could not be read or is not a frontal chest X-ray; {0} when the film is unusual for this model or its heat map lies mostly outside the lungs (assessed, but review it; the status says why)</source>
        <translation>Probabilidad comparada con el umbral del modelo; INDETERMINADA cuando el intervalo de sus vistas cruza el umbral; NO EVALUADA cuando no se pudo leer el archivo o no es una radiografía frontal de tórax; {0} cuando la radiografía es inusual para este modelo o su mapa de calor queda sobre todo fuera de los pulmones (evaluada, pero revísela; el estado indica por qué)</translation>
    </message>
</context>
<context>
    <name>ResultsPanel</name>
    <message>
        <source>Which split the confusion matrix and ROC describe</source>
        <translation>Qué partición describen la matriz de confusión y la curva ROC</translation>
    </message>
    <message>
        <source>Save as…</source>
        <translation>Guardar como…</translation>
    </message>
    <message>
        <source>Write the model and its card to your model folder</source>
        <translation>Escribir el modelo y su ficha en su carpeta de modelos</translation>
    </message>
    <message>
        <source>Use this model</source>
        <translation>Usar este modelo</translation>
    </message>
    <message>
        <source>Classify with the model you just saved (the previous one stays in the model list)</source>
        <translation>Clasificar con el modelo que acaba de guardar (el anterior sigue en la lista de modelos)</translation>
    </message>
    <message>
        <source>Show:</source>
        <translation>Mostrar:</translation>
    </message>
    <message>
        <source>The confusion matrix, ROC curve, threshold and metrics appear here when training ends.</source>
        <translation>La matriz de confusión, la curva ROC, el umbral y las métricas aparecen aquí al terminar el entrenamiento.</translation>
    </message>
    <message>
        <source>Test split</source>
        <translation>Partición de prueba</translation>
    </message>
    <message>
        <source>Validation split</source>
        <translation>Partición de validación</translation>
    </message>
    <message>
        <source>&lt;b&gt;Threshold {0}&lt;/b&gt;: {1}.</source>
        <translation>&lt;b&gt;Umbral {0}&lt;/b&gt;: {1}.</translation>
    </message>
    <message>
        <source>&lt;b&gt;Unusual-film cut-offs&lt;/b&gt;: feature distance {0}, thumbnail residual {1}; structure {2}. &lt;b&gt;The rule&lt;/b&gt;: {3}.</source>
        <translation>&lt;b&gt;Puntos de corte de radiografía inusual&lt;/b&gt;: distancia de características {0}, residuo de la miniatura {1}; estructura {2}. &lt;b&gt;La regla&lt;/b&gt;: {3}.</translation>
    </message>
    <message>
        <source>&lt;b&gt;Warnings&lt;/b&gt;: {0}.</source>
        <translation>&lt;b&gt;Advertencias&lt;/b&gt;: {0}.</translation>
    </message>
    <message>
        <source>test split</source>
        <translation>prueba</translation>
    </message>
    <message>
        <source>validation split</source>
        <translation>validación</translation>
    </message>
    <message>
        <source>Results on the {0}</source>
        <translation>Resultados en la partición de {0}</translation>
    </message>
    <message>
        <source>Measuring the start model and the fine-tuned one on this site&apos;s test part…</source>
        <translation>Midiendo el modelo de partida y el ajustado en la parte de prueba de este centro…</translation>
    </message>
    <message>
        <source>Sensitivity</source>
        <translation>Sensibilidad</translation>
    </message>
    <message>
        <source>Specificity</source>
        <translation>Especificidad</translation>
    </message>
    <message>
        <source>Accuracy</source>
        <translation>Exactitud</translation>
    </message>
    <message>
        <source>Threshold</source>
        <translation>Umbral</translation>
    </message>
    <message>
        <source>Assessed films</source>
        <translation>Radiografías evaluadas</translation>
    </message>
    <message>
        <source>&lt;b&gt;Before/after on this site&apos;s test part&lt;/b&gt; (kept out of training; 95% bootstrap intervals): before = {0}, after = the fine-tuned model. Overlapping intervals mean the data cannot tell them apart.</source>
        <translation>&lt;b&gt;Antes/después en la parte de prueba de este centro&lt;/b&gt; (excluida del entrenamiento; intervalos bootstrap del 95 %): antes = {0}, después = el modelo ajustado. Si los intervalos se solapan, los datos no permiten distinguirlos.</translation>
    </message>
</context>
<context>
    <name>RunPanel</name>
    <message>
        <source>Start training</source>
        <translation>Iniciar el entrenamiento</translation>
    </message>
    <message>
        <source>idle</source>
        <translation>en espera</translation>
    </message>
    <message>
        <source>Choose a dataset folder to begin.</source>
        <translation>Elija una carpeta de datos para empezar.</translation>
    </message>
    <message>
        <source>starting…</source>
        <translation>iniciando…</translation>
    </message>
    <message>
        <source>reading images: {0} / {1}</source>
        <translation>leyendo imágenes: {0} / {1}</translation>
    </message>
    <message>
        <source>epoch {0} / {1}, batch {2} / {3}</source>
        <translation>época {0} / {1}, lote {2} / {3}</translation>
    </message>
    <message>
        <source>done</source>
        <translation>hecho</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>Deteniendo…</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Detener</translation>
    </message>
    <message>
        <source>Stop after this batch and keep the best epoch so far</source>
        <translation>Detener tras este lote y conservar la mejor época hasta ahora</translation>
    </message>
    <message>
        <source>Train with this dataset and recipe</source>
        <translation>Entrenar con este conjunto de datos y esta receta</translation>
    </message>
</context>
<context>
    <name>RunSetup</name>
    <message>
        <source>ImageNet backbone (EfficientNet-Lite0)</source>
        <translation>Red base de ImageNet (EfficientNet-Lite0)</translation>
    </message>
    <message>
        <source>Scratch (random weights)</source>
        <translation>Desde cero (pesos aleatorios)</translation>
    </message>
    <message>
        <source>Cannot use {0}: {1}</source>
        <translation>No se puede usar {0}: {1}</translation>
    </message>
</context>
<context>
    <name>SaveDialog</name>
    <message>
        <source>Save trained model</source>
        <translation>Guardar el modelo entrenado</translation>
    </message>
    <message>
        <source>Shown in the model list and the classify window</source>
        <translation>Se muestra en la lista de modelos y en la ventana de clasificación</translation>
    </message>
    <message>
        <source>What data, which hospital, why this run…</source>
        <translation>Qué datos, qué hospital, por qué este entrenamiento…</translation>
    </message>
    <message>
        <source>Saved in {0} with its model card.</source>
        <translation>Se guarda en {0} con su ficha de modelo.</translation>
    </message>
    <message>
        <source>Name:</source>
        <translation>Nombre:</translation>
    </message>
    <message>
        <source>Notes:</source>
        <translation>Notas:</translation>
    </message>
</context>
<context>
    <name>ScoreBadge</name>
    <message>
        <source>No image selected</source>
        <extracomment>Side of the outline image: the 128 px mask is drawn smoothly at this size.</extracomment>
        <translation>Ninguna imagen seleccionada</translation>
    </message>
    <message>
        <source>P(COVID) from the model; the tick marks the model&apos;s decision threshold (from its model card)</source>
        <translation>P(COVID) según el modelo; la marca señala el umbral de decisión del modelo (de su ficha)</translation>
    </message>
    <message>
        <source>threshold {0}</source>
        <translation>umbral {0}</translation>
    </message>
</context>
<context>
    <name>TrainDataset</name>
    <message>
        <source>No folder name says which class is COVID: choose the positive class.</source>
        <translation>Ningún nombre de carpeta indica qué clase es COVID: elija la clase positiva.</translation>
    </message>
    <message>
        <source>{0} unreadable file(s), listed below: they will be skipped.</source>
        <translation>{0} archivo(s) ilegible(s), enumerados abajo: se omitirán.</translation>
    </message>
    <message>
        <source>{0} unreadable file(s), listed below: remove them or tick “Skip unreadable files”.</source>
        <translation>{0} archivo(s) ilegible(s), enumerados abajo: elimínelos o marque «Omitir los archivos ilegibles».</translation>
    </message>
    <message>
        <source>{0} near-duplicate image pair(s) across splits (listed below): test images leak into training; training anyway as asked, scores will be optimistic.</source>
        <translation>{0} par(es) de imágenes casi duplicadas entre particiones (enumerados abajo): imágenes de prueba se filtran al entrenamiento; se entrena igualmente, como se ha pedido, y los resultados serán optimistas.</translation>
    </message>
    <message>
        <source>{0} near-duplicate image pair(s) across splits (listed below): test images leak into training. Remove one of each pair, or tick “Train despite near-duplicates”.</source>
        <translation>{0} par(es) de imágenes casi duplicadas entre particiones (enumerados abajo): imágenes de prueba se filtran al entrenamiento. Elimine una de cada par o marque «Entrenar pese a los casi duplicados».</translation>
    </message>
    <message>
        <source>The folder {0} is no longer there.</source>
        <translation>La carpeta {0} ya no existe.</translation>
    </message>
    <message>
        <source>Cannot read {0}: {1}</source>
        <translation>No se puede leer {0}: {1}</translation>
    </message>
    <message>
        <source>Cannot read this folder: {0}: {1}</source>
        <translation>No se puede leer esta carpeta: {0}: {1}</translation>
    </message>
</context>
<context>
    <name>TrainJobs</name>
    <message>
        <source>reading images</source>
        <extracomment>How often batch losses reach the GUI (they are buffered in between, none is lost). No folder name said which class is positive; the user must choose it. What core&apos;s training and checking say as they progress (shown translated by the page).</extracomment>
        <translation>leyendo imágenes</translation>
    </message>
    <message>
        <source>looking for near-duplicates across splits</source>
        <translation>buscando casi duplicados entre particiones</translation>
    </message>
    <message>
        <source>calibrating and fitting the OOD detector</source>
        <translation>calibrando y ajustando el detector de imágenes fuera de distribución</translation>
    </message>
    <message>
        <source>evaluating on the test split</source>
        <translation>evaluando en la partición de prueba</translation>
    </message>
    <message>
        <source>backbone features of the training images</source>
        <translation>características de la red base de las imágenes de entrenamiento</translation>
    </message>
    <message>
        <source>backbone features of the validation images</source>
        <translation>características de la red base de las imágenes de validación</translation>
    </message>
    <message>
        <source>The dataset folder {0} is no longer there (moved, deleted or its drive disconnected?). Training stopped; nothing was saved.</source>
        <translation>La carpeta de datos {0} ya no existe (¿movida, borrada o con el disco desconectado?). Entrenamiento detenido; no se ha guardado nada.</translation>
    </message>
    <message>
        <source>Could not read the dataset: {0} ({1}). Nothing was saved.</source>
        <translation>No se pudo leer el conjunto de datos: {0} ({1}). No se ha guardado nada.</translation>
    </message>
</context>
<context>
    <name>TrainModels</name>
    <message>
        <source>Class</source>
        <translation>Clase</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Función</translation>
    </message>
    <message>
        <source>Train</source>
        <translation>Entren.</translation>
    </message>
    <message>
        <source>Val</source>
        <translation>Valid.</translation>
    </message>
    <message>
        <source>Test</source>
        <translation>Prueba</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>Total</translation>
    </message>
    <message>
        <source>positive</source>
        <translation>positiva</translation>
    </message>
    <message>
        <source>negative</source>
        <translation>negativa</translation>
    </message>
    <message>
        <source>All classes</source>
        <translation>Todas las clases</translation>
    </message>
    <message>
        <source>no images of this class in this split</source>
        <translation>no hay imágenes de esta clase en esta partición</translation>
    </message>
    <message>
        <source>Images</source>
        <extracomment>(English row name, tooltip, value; the tooltip&apos;s {0} is the row&apos;s target from core.evaluation.targets). Names and tips are translated when shown.</extracomment>
        <translation>Imágenes</translation>
    </message>
    <message>
        <source>positive + negative</source>
        <translation>positivas + negativas</translation>
    </message>
    <message>
        <source>area under the ROC curve (threshold-free)</source>
        <translation>área bajo la curva ROC (independiente del umbral)</translation>
    </message>
    <message>
        <source>Threshold</source>
        <translation>Umbral</translation>
    </message>
    <message>
        <source>probability at or above which an image is called COVID</source>
        <translation>probabilidad a partir de la cual (incluida) una imagen se considera COVID</translation>
    </message>
    <message>
        <source>Sensitivity</source>
        <translation>Sensibilidad</translation>
    </message>
    <message>
        <source>share of COVID images called COVID</source>
        <translation>proporción de imágenes COVID clasificadas como COVID</translation>
    </message>
    <message>
        <source>Specificity</source>
        <translation>Especificidad</translation>
    </message>
    <message>
        <source>share of other images called NOT COVID</source>
        <translation>proporción de las demás imágenes clasificadas como NO COVID</translation>
    </message>
    <message>
        <source>Precision</source>
        <translation>Precisión</translation>
    </message>
    <message>
        <source>share of COVID calls that are right</source>
        <translation>proporción de clasificaciones COVID que son correctas</translation>
    </message>
    <message>
        <source>Accuracy</source>
        <translation>Exactitud</translation>
    </message>
    <message>
        <source>share of all calls that are right</source>
        <translation>proporción de todas las clasificaciones que son correctas</translation>
    </message>
    <message>
        <source>harmonic mean of precision and sensitivity</source>
        <translation>media armónica de la precisión y la sensibilidad</translation>
    </message>
    <message>
        <source>Calibration error</source>
        <translation>Error de calibración</translation>
    </message>
    <message>
        <source>expected calibration error (ECE): how far probabilities are from observed frequencies</source>
        <translation>error de calibración esperado (ECE): cuánto se alejan las probabilidades de las frecuencias observadas</translation>
    </message>
    <message>
        <source>AUC, lungs hidden</source>
        <translation>AUC, pulmones ocultos</translation>
    </message>
    <message>
        <source>shortcut probe: AUC with the central 70% blacked out. Near 0.5 is good; high means the model reads something outside the lungs ({0})</source>
        <translation>prueba de atajos: AUC con el 70 % central en negro. Cerca de 0,5 es bueno; un valor alto indica que el modelo se fija en algo fuera de los pulmones ({0})</translation>
    </message>
    <message>
        <source>AUC, lungs only</source>
        <translation>AUC, solo pulmones</translation>
    </message>
    <message>
        <source>shortcut probe: AUC with only the central 70% shown ({0})</source>
        <translation>prueba de atajos: AUC mostrando solo el 70 % central ({0})</translation>
    </message>
    <message>
        <source>X-rays refused</source>
        <translation>Rx rechazadas</translation>
    </message>
    <message>
        <source>share of this split&apos;s X-rays refused as not a frontal chest X-ray (NOT ASSESSED; {0})</source>
        <translation>proporción de radiografías de esta partición rechazadas por no ser radiografías frontales de tórax (NO EVALUADA; {0})</translation>
    </message>
    <message>
        <source>X-rays flagged unusual</source>
        <translation>Rx inusuales</translation>
    </message>
    <message>
        <source>share of this split&apos;s X-rays assessed but flagged unusual for the model (far from its training images)</source>
        <translation>proporción de radiografías de esta partición evaluadas pero marcadas como inusuales para el modelo (lejos de sus imágenes de entrenamiento)</translation>
    </message>
    <message>
        <source>Non-X-rays refused</source>
        <translation>No Rx rechazadas</translation>
    </message>
    <message>
        <source>share of synthetic non-X-ray pictures refused as not a frontal chest X-ray ({0})</source>
        <translation>proporción de imágenes sintéticas no radiográficas rechazadas por no ser radiografías frontales de tórax ({0})</translation>
    </message>
    <message>
        <source>Measure</source>
        <extracomment>The target each row is measured against (core.evaluation.targets), where it has one.</extracomment>
        <translation>Medida</translation>
    </message>
    <message>
        <source>Validation</source>
        <translation>Validación</translation>
    </message>
</context>
<context>
    <name>TrainPlots</name>
    <message>
        <source>Loss</source>
        <extracomment>Weight of the past in the displayed batch-loss curve (exponential moving average).</extracomment>
        <translation>Pérdida</translation>
    </message>
    <message>
        <source>epoch</source>
        <translation>época</translation>
    </message>
    <message>
        <source>binary cross-entropy</source>
        <translation>entropía cruzada binaria</translation>
    </message>
    <message>
        <source>Accuracy</source>
        <translation>Exactitud</translation>
    </message>
    <message>
        <source>accuracy</source>
        <translation>exactitud</translation>
    </message>
    <message>
        <source>loss per batch (smoothed)</source>
        <translation>pérdida por lote (suavizada)</translation>
    </message>
    <message>
        <source>best epoch (weights kept)</source>
        <translation>mejor época (pesos conservados)</translation>
    </message>
    <message>
        <source>true positive</source>
        <translation>VP</translation>
    </message>
    <message>
        <source>false negative</source>
        <translation>FN</translation>
    </message>
    <message>
        <source>false positive</source>
        <translation>FP</translation>
    </message>
    <message>
        <source>true negative</source>
        <translation>VN</translation>
    </message>
    <message>
        <source>Confusion matrix</source>
        <translation>Matriz de confusión</translation>
    </message>
    <message>
        <source>true class</source>
        <translation>clase real</translation>
    </message>
    <message>
        <source>predicted</source>
        <translation>predicha</translation>
    </message>
    <message>
        <source>1 − specificity (false-positive rate)</source>
        <translation>1 − especificidad (tasa de FP)</translation>
    </message>
    <message>
        <source>sensitivity (true-positive rate)</source>
        <translation>sensibilidad (tasa de VP)</translation>
    </message>
    <message>
        <source>ROC</source>
        <translation>ROC</translation>
    </message>
    <message>
        <source>threshold {0}&lt;br&gt;sensitivity {1}, specificity {2}</source>
        <translation>umbral {0}&lt;br&gt;sens. {1}, espec. {2}</translation>
    </message>
</context>
<context>
    <name>TrainingSession</name>
    <message>
        <source>Reading the folder…</source>
        <translation>Leyendo la carpeta…</translation>
    </message>
    <message>
        <source>Fix the dataset problems listed above to train.</source>
        <translation>Corrija los problemas del conjunto de datos indicados arriba para entrenar.</translation>
    </message>
    <message>
        <source>Checking the images…</source>
        <translation>Comprobando las imágenes…</translation>
    </message>
    <message>
        <source>Ready to train.</source>
        <translation>Listo para entrenar.</translation>
    </message>
    <message>
        <source>Classifying with “{0}” from now on.</source>
        <translation>A partir de ahora se clasifica con «{0}».</translation>
    </message>
    <message>
        <source>Choose a dataset folder first.</source>
        <translation>Elija primero una carpeta de datos.</translation>
    </message>
    <message>
        <source>The dataset folder {0} is no longer there.</source>
        <translation>La carpeta de datos {0} ya no existe.</translation>
    </message>
    <message>
        <source>Training… the active model is unchanged until you save and use the new one.</source>
        <translation>Entrenando… el modelo activo no cambia hasta que guarde y use el nuevo.</translation>
    </message>
    <message>
        <source>Stopping after this batch…</source>
        <translation>Deteniendo tras este lote…</translation>
    </message>
    <message>
        <source>Training finished. Look at the results, then “Save as…” to keep the model; the active model is unchanged until you use it.</source>
        <translation>Entrenamiento terminado. Revise los resultados y después use «Guardar como…» para conservar el modelo; el modelo activo no cambia hasta que lo use.</translation>
    </message>
    <message>
        <source>{0} is not among the models this page can start from; choose a start point.</source>
        <translation>{0} no está entre los modelos de los que puede partir esta página; elija un punto de partida.</translation>
    </message>
    <message>
        <source>Fine-tuning on this site: starting from the validated model. A test part, split by patient, is kept out of training; when training ends, the start model and the fine-tuned one are both measured on it.</source>
        <translation>Ajuste fino en este centro: se parte del modelo validado. Una parte de prueba, separada por paciente, queda fuera del entrenamiento; al terminar, se miden en ella tanto el modelo de partida como el ajustado.</translation>
    </message>
    <message>
        <source>Before/after comparison failed</source>
        <translation>La comparación antes/después ha fallado</translation>
    </message>
    <message>
        <source>Could not save the model</source>
        <translation>No se pudo guardar el modelo</translation>
    </message>
    <message>
        <source>Saving “{0}”…</source>
        <translation>Guardando «{0}»…</translation>
    </message>
    <message>
        <source>Saved “{0}” as {1}. “Use this model” to classify with it.</source>
        <translation>Se guardó «{0}» como {1}. Pulse «Usar este modelo» para clasificar con él.</translation>
    </message>
</context>
<context>
    <name>TrainingTab</name>
    <message>
        <source>Train</source>
        <extracomment>The user chose to classify with this model (path of its ``.keras`` file). The dataset was scanned and its images checked (or that failed: see ``problems``). One epoch ended: the ``core.training.fit`` epoch report. A run ended: its ``core.training.finalise.TrainResult``, or None (failed or cancelled). A trained model was written (its path). After &quot;Fine-tune on this site&quot;: {&quot;before&quot;: ..., &quot;after&quot;: ...}, each a ``core.evaluation.validation.SiteMetrics``.</extracomment>
        <translation>Entrenar</translation>
    </message>
</context>
<context>
    <name>ValidateTab</name>
    <message>
        <source>Measure</source>
        <translation>Medida</translation>
    </message>
    <message>
        <source>Before</source>
        <translation>Antes</translation>
    </message>
    <message>
        <source>After</source>
        <translation>Después</translation>
    </message>
    <message>
        <source>drawing the bootstrap…</source>
        <translation>generando el bootstrap…</translation>
    </message>
    <message>
        <source>How well the scores rank COVID above not-COVID films, at any threshold</source>
        <translation>Hasta qué punto las puntuaciones sitúan las radiografías COVID por encima de las no COVID, con cualquier umbral</translation>
    </message>
    <message>
        <source>Share of COVID films called COVID at this threshold</source>
        <translation>Proporción de radiografías COVID clasificadas como COVID con este umbral</translation>
    </message>
    <message>
        <source>Share of not-COVID films called NOT COVID at this threshold</source>
        <translation>Proporción de radiografías no COVID clasificadas como NO COVID con este umbral</translation>
    </message>
    <message>
        <source>Of the films called COVID, the share that are COVID (at the prevalence shown)</source>
        <translation>De las radiografías clasificadas como COVID, la proporción que son COVID (con la prevalencia indicada)</translation>
    </message>
    <message>
        <source>Of the films called NOT COVID, the share that are not COVID (at the prevalence)</source>
        <translation>De las radiografías clasificadas como NO COVID, la proporción que no son COVID (con la prevalencia indicada)</translation>
    </message>
    <message>
        <source>Share of all assessed films called right</source>
        <translation>Proporción de todas las radiografías evaluadas clasificadas correctamente</translation>
    </message>
    <message>
        <source>ROC AUC</source>
        <extracomment>The metrics table&apos;s row names (English keys, translated when shown).</extracomment>
        <translation>AUC ROC</translation>
    </message>
    <message>
        <source>Threshold</source>
        <translation>Umbral</translation>
    </message>
    <message>
        <source>Sensitivity</source>
        <translation>Sensibilidad</translation>
    </message>
    <message>
        <source>Specificity</source>
        <translation>Especificidad</translation>
    </message>
    <message>
        <source>PPV</source>
        <translation>VPP</translation>
    </message>
    <message>
        <source>NPV</source>
        <translation>VPN</translation>
    </message>
    <message>
        <source>Accuracy</source>
        <translation>Exactitud</translation>
    </message>
    <message>
        <source>Save as site profile</source>
        <translation>Guardar como perfil de centro</translation>
    </message>
    <message>
        <source>e.g. St Mary&apos;s ICU, portable films</source>
        <translation>p. ej. UCI del Hospital Central, radiografías portátiles</translation>
    </message>
    <message>
        <source>Refit the probabilities&apos; calibration on these films</source>
        <translation>Reajustar la calibración de las probabilidades con estas radiografías</translation>
    </message>
    <message>
        <source>The same films are called COVID either way; the probabilities shown become those observed at this site. Fitted on the films it is then judged on, so its calibration looks better here than it will on new films.</source>
        <translation>Las mismas radiografías se clasifican como COVID en ambos casos; las probabilidades mostradas pasan a ser las observadas en este centro. Se ajusta con las mismas radiografías con que luego se juzga, así que su calibración parecerá mejor aquí que con radiografías nuevas.</translation>
    </message>
    <message>
        <source>Site name</source>
        <translation>Nombre del centro</translation>
    </message>
    <message>
        <source>Threshold {0}. The model&apos;s weights and its own card are not changed; the profile is a new card beside them.</source>
        <translation>Umbral {0}. Los pesos del modelo y su propia ficha no cambian; el perfil es una ficha nueva junto a ellos.</translation>
    </message>
    <message>
        <source>A labelled folder: one sub-folder per class, or any folder with a labels CSV</source>
        <translation>Una carpeta etiquetada: una subcarpeta por clase, o cualquier carpeta con un CSV de etiquetas</translation>
    </message>
    <message>
        <source>Choose folder…</source>
        <translation>Elegir carpeta…</translation>
    </message>
    <message>
        <source>Labels CSV…</source>
        <translation>CSV de etiquetas…</translation>
    </message>
    <message>
        <source>Optional: a CSV of filename,label (and patient, scanner, site or view columns), names relative to the folder</source>
        <translation>Opcional: un CSV con filename,label (y columnas patient, scanner, site o view), con nombres relativos a la carpeta</translation>
    </message>
    <message>
        <source>The label that means COVID; every other label is not COVID</source>
        <translation>La etiqueta que significa COVID; cualquier otra etiqueta es no COVID</translation>
    </message>
    <message>
        <source>Validate</source>
        <translation>Validar</translation>
    </message>
    <message>
        <source>Folder</source>
        <translation>Carpeta</translation>
    </message>
    <message>
        <source>COVID is</source>
        <translation>COVID es</translation>
    </message>
    <message>
        <source>Validate the active model on your own labelled X-rays before relying on its numbers: choose a folder.</source>
        <translation>Valide el modelo activo con sus propias radiografías etiquetadas antes de fiarse de sus cifras: elija una carpeta.</translation>
    </message>
    <message>
        <source>Meet</source>
        <translation>Alcanzar</translation>
    </message>
    <message>
        <source>The most specific threshold with at least this sensitivity on these films</source>
        <translation>El umbral más específico que logra al menos esta sensibilidad en estas radiografías</translation>
    </message>
    <message>
        <source>The most sensitive threshold with at least this specificity on these films</source>
        <translation>El umbral más sensible que logra al menos esta especificidad en estas radiografías</translation>
    </message>
    <message>
        <source>Model&apos;s threshold</source>
        <translation>Umbral del modelo</translation>
    </message>
    <message>
        <source>Expected prevalence</source>
        <translation>Prevalencia esperada</translation>
    </message>
    <message>
        <source>PPV and NPV depend on how common COVID is among the films you will screen; unchecked, the folder&apos;s own share is used</source>
        <translation>El VPP y el VPN dependen de lo frecuente que sea la COVID entre las radiografías que vaya a cribar; si no se marca, se usa la proporción de la propia carpeta</translation>
    </message>
    <message>
        <source>Target sensitivity</source>
        <translation>Sensibilidad objetivo</translation>
    </message>
    <message>
        <source>Target specificity</source>
        <translation>Especificidad objetivo</translation>
    </message>
    <message>
        <source>Operating point (or drag on the ROC curve or the threshold line)</source>
        <translation>Punto de corte (o arrastre sobre la curva ROC o la línea del umbral)</translation>
    </message>
    <message>
        <source>Metrics</source>
        <translation>Métricas</translation>
    </message>
    <message>
        <source>Data</source>
        <translation>Datos</translation>
    </message>
    <message>
        <source>By sub-group</source>
        <translation>Por subgrupo</translation>
    </message>
    <message>
        <source>Not assessed</source>
        <translation>No evaluadas</translation>
    </message>
    <message>
        <source>Indeterminate</source>
        <translation>Indeterminadas</translation>
    </message>
    <message>
        <source>Save as site profile…</source>
        <translation>Guardar perfil…</translation>
    </message>
    <message>
        <source>Keep this threshold (and the evidence behind it) as a profile of the model; the weights are not changed</source>
        <translation>Conservar este umbral (y los datos que lo respaldan) como perfil del modelo; los pesos no cambian</translation>
    </message>
    <message>
        <source>Write report…</source>
        <translation>Redactar informe…</translation>
    </message>
    <message>
        <source>Fine-tune on this site…</source>
        <translation>Ajustar al centro…</translation>
    </message>
    <message>
        <source>Open the Train page with this folder and the active model; a patient-grouped test part is kept apart and used for a before/after comparison</source>
        <translation>Abrir la página Entrenar con esta carpeta y el modelo activo; una parte de prueba agrupada por paciente se reserva y se usa para una comparación antes/después</translation>
    </message>
    <message>
        <source>Use</source>
        <translation>Usar</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>Eliminar</translation>
    </message>
    <message>
        <source>Site profiles</source>
        <translation>Perfiles de centro</translation>
    </message>
    <message>
        <source>The results below were measured with {0}; the active model is now {1}. Validate again to measure it.</source>
        <extracomment>The labels were read (a LabelledSet) or could not be (None; see ``message``). A validation finished: its SiteAnalysis, or None (failed or cancelled). The analysis shown changed (a SiteAnalysis, or None: cleared). The operating point moved: the new SiteMetrics. The profiles on disk changed (saved, removed) or the active model did. The user chose to classify with this model or profile (its path). &quot;Fine-tune on this site&quot;: (folder, positive class, model path). The message line: (text, level) with level &quot;info&quot;, &quot;ok&quot;, &quot;warning&quot; or &quot;error&quot;. The running task&apos;s progress: (done, total, what), and (0, 0, &quot;&quot;) when it ends. Something the controls depend on changed (running, labels, analysis, model). The expected prevalence typed by the user, or None: the folder&apos;s own.</extracomment>
        <translation>Los resultados de abajo se midieron con {0}; el modelo activo es ahora {1}. Valide de nuevo para medirlo.</translation>
    </message>
    <message>
        <source>Choose a labelled folder</source>
        <translation>Elegir una carpeta etiquetada</translation>
    </message>
    <message>
        <source>Choose a labels CSV (filename,label)</source>
        <translation>Elegir un CSV de etiquetas (filename,label)</translation>
    </message>
    <message>
        <source>CSV (*.csv)</source>
        <translation>CSV (*.csv)</translation>
    </message>
    <message>
        <source>reading the labels…</source>
        <translation>leyendo las etiquetas…</translation>
    </message>
    <message>
        <source>{0} labelled images ({1}; {2}, patients named).</source>
        <translation>{0} imágenes etiquetadas ({1}; {2}, con pacientes identificados).</translation>
    </message>
    <message>
        <source>{0} labelled images ({1}; {2}).</source>
        <translation>{0} imágenes etiquetadas ({1}; {2}).</translation>
    </message>
    <message>
        <source>Sub-groups: {0}.</source>
        <translation>Subgrupos: {0}.</translation>
    </message>
    <message>
        <source>Press Validate.</source>
        <translation>Pulse Validar.</translation>
    </message>
    <message>
        <source>classifying…</source>
        <translation>clasificando…</translation>
    </message>
    <message>
        <source>Validation cancelled; nothing was measured.</source>
        <translation>Validación cancelada; no se ha medido nada.</translation>
    </message>
    <message>
        <source>Not assessed ({0})</source>
        <translation>No evaluadas ({0})</translation>
    </message>
    <message>
        <source>Indeterminate ({0})</source>
        <translation>Indeterminadas ({0})</translation>
    </message>
    <message>
        <source>Measured {0} on {1} assessed films (95% intervals from {2} bootstrap resamples of patients).</source>
        <translation>Se midió {0} en {1} radiografías evaluadas (intervalos del 95 % con {2} remuestreos bootstrap de pacientes).</translation>
    </message>
    <message>
        <source>Measured {0} on {1} assessed films (95% intervals from {2} bootstrap resamples of images).</source>
        <translation>Se midió {0} en {1} radiografías evaluadas (intervalos del 95 % con {2} remuestreos bootstrap de imágenes).</translation>
    </message>
    <message>
        <source>typed prevalence {0}</source>
        <translation>la prevalencia indicada {0}</translation>
    </message>
    <message>
        <source>this folder&apos;s prevalence {0}</source>
        <translation>la prevalencia de esta carpeta {0}</translation>
    </message>
    <message>
        <source>At threshold {0}: TP {1}, FN {2}, FP {3}, TN {4}. PPV and NPV at {5}. Calibration error (ECE) {6}.</source>
        <translation>Con umbral {0}: VP {1}, FN {2}, FP {3}, VN {4}. VPP y VPN con {5}. Error de calibración (ECE) {6}.</translation>
    </message>
    <message>
        <source>Could not save the profile: {0}</source>
        <translation>No se pudo guardar el perfil: {0}</translation>
    </message>
    <message>
        <source>Saved site profile “{0}” (threshold {1}). Press Use to classify with it.</source>
        <translation>Se guardó el perfil de centro «{0}» (umbral {1}). Pulse Usar para clasificar con él.</translation>
    </message>
    <message>
        <source>none yet: validate, then save one</source>
        <translation>todavía ninguno: valide y después guarde uno</translation>
    </message>
    <message>
        <source>Cannot use {0}: {1}</source>
        <translation>No se puede usar {0}: {1}</translation>
    </message>
    <message>
        <source>Classifying with “{0}” from now on.</source>
        <translation>A partir de ahora se clasifica con «{0}».</translation>
    </message>
    <message>
        <source>This profile is in use: choose another model or profile first.</source>
        <translation>Este perfil está en uso: elija antes otro modelo o perfil.</translation>
    </message>
    <message>
        <source>Write the validation report</source>
        <translation>Redactar el informe de validación</translation>
    </message>
    <message>
        <source>PDF (*.pdf)</source>
        <translation>PDF (*.pdf)</translation>
    </message>
    <message>
        <source>Report not written</source>
        <translation>Informe no redactado</translation>
    </message>
    <message>
        <source>Could not write {0}: {1}</source>
        <translation>No se pudo escribir {0}: {1}</translation>
    </message>
    <message>
        <source>Wrote the report to {0}.</source>
        <translation>Informe escrito en {0}.</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancelar</translation>
    </message>
    <message>
        <source>The model is loading</source>
        <translation>El modelo se está cargando</translation>
    </message>
</context>
<context>
    <name>ValidationPlots</name>
    <message>
        <source>Click or drag along the curve to move the operating point</source>
        <translation>Haga clic o arrastre a lo largo de la curva para mover el punto de corte</translation>
    </message>
    <message>
        <source>Precision-recall</source>
        <translation>Precisión-exhaustividad</translation>
    </message>
    <message>
        <source>sensitivity (recall)</source>
        <translation>sensibilidad (exhaustividad)</translation>
    </message>
    <message>
        <source>PPV (precision)</source>
        <translation>VPP (precisión)</translation>
    </message>
    <message>
        <source>Reliability (calibration)</source>
        <translation>Fiabilidad (calibración)</translation>
    </message>
    <message>
        <source>predicted P(COVID)</source>
        <translation>P(COVID) predicha</translation>
    </message>
    <message>
        <source>observed share COVID</source>
        <translation>proporción observada de COVID</translation>
    </message>
    <message>
        <source>Scores by true class</source>
        <translation>Puntuaciones por clase real</translation>
    </message>
    <message>
        <source>share of the class</source>
        <translation>proporción de la clase</translation>
    </message>
    <message>
        <source>not COVID</source>
        <translation>no COVID</translation>
    </message>
    <message>
        <source>threshold {0}</source>
        <translation>umbral {0}</translation>
    </message>
    <message>
        <source>Drag to move the operating point</source>
        <translation>Arrastre para mover el punto de corte</translation>
    </message>
    <message>
        <source>Reliability (calibration): ECE {0}</source>
        <translation>Fiabilidad (calibración): ECE {0}</translation>
    </message>
    <message>
        <source>, assessed films (n = {0})</source>
        <translation>, evaluadas (n = {0})</translation>
    </message>
</context>
<context>
    <name>XRayViewer</name>
    <message>
        <source>Wheel zoom · drag pan · right-drag window/level · I invert · Space reset · = fit · H heat map · L lung outline</source>
        <translation>Rueda: zoom · arrastrar: desplazar · arrastre derecho: ventana/nivel · I invertir · Espacio restablecer · = ajustar · H mapa de calor · L contorno pulmonar</translation>
    </message>
    <message>
        <source>Mouse wheel: zoom · left-drag: pan · right-drag: window/level (left-right = width, up-down = level) · i: invert · space: reset · =: fit to window · h: heat map · l: lung outline</source>
        <translation>Rueda del ratón: zoom · arrastre izquierdo: desplazar · arrastre derecho: ventana/nivel (izquierda-derecha = anchura, arriba-abajo = nivel) · i: invertir · espacio: restablecer · =: ajustar a la ventana · h: mapa de calor · l: contorno pulmonar</translation>
    </message>
    <message>
        <source>Open files (Ctrl+O) or a folder (Ctrl+Shift+O), or drop them here.
Select a row to see the image.</source>
        <extracomment>Emitted when the user toggles the heat map (``h``), so the window can sync its action.</extracomment>
        <translation>Abra archivos (Ctrl+O) o una carpeta (Ctrl+Mayús+O), o arrástrelos aquí.
Seleccione una fila para ver la imagen.</translation>
    </message>
</context>
<context>
    <name>core</name>
    <message>
        <source>COVID</source>
        <translation>COVID</translation>
    </message>
    <message>
        <source>NOT COVID</source>
        <translation>NO COVID</translation>
    </message>
    <message>
        <source>NOT ASSESSED</source>
        <translation>NO EVALUADA</translation>
    </message>
    <message>
        <source>INDETERMINATE</source>
        <translation>INDETERMINADA</translation>
    </message>
    <message>
        <source>Research use only. Not a medical device: not for diagnosis, triage or any clinical decision. Outputs must be reviewed by a qualified clinician.</source>
        <translation>Solo para investigación. No es un producto sanitario: no apto para el diagnóstico, el triaje ni ninguna decisión clínica. Los resultados deben ser revisados por un profesional sanitario cualificado.</translation>
    </message>
    <message>
        <source>Heat map (Grad-CAM): where this network looked for its score. Not a lesion map and not a diagnosis; it can light up text, markers or borders.</source>
        <translation>Mapa de calor (Grad-CAM): dónde se fijó esta red para dar su puntuación. No es un mapa de lesiones ni un diagnóstico; puede resaltar texto, marcadores o bordes.</translation>
    </message>
    <message>
        <source>does not look like a frontal chest X-ray</source>
        <translation>no parece una radiografía frontal de tórax</translation>
    </message>
    <message>
        <source>unusual for this model: unlike the X-rays it was trained on, so its score is less reliable here; review the image</source>
        <translation>inusual para este modelo: distinta de las radiografías con que se entrenó, por lo que aquí su puntuación es menos fiable; revise la imagen</translation>
    </message>
    <message>
        <source>no anatomy: blank or smooth image</source>
        <translation>sin anatomía: imagen en blanco o uniforme</translation>
    </message>
    <message>
        <source>the score rests mostly on areas outside the lungs (markers, tubes, borders): review the film</source>
        <translation>la puntuación se apoya sobre todo en zonas fuera de los pulmones (marcadores, sondas, bordes): revise la radiografía</translation>
    </message>
    <message>
        <source>indeterminate: the score moves across the threshold when the film is mirrored, shifted or zoomed; review the film</source>
        <translation>indeterminada: la puntuación cruza el umbral al voltear, desplazar o ampliar la radiografía; revise la radiografía</translation>
    </message>
    <message>
        <source>no lung field found</source>
        <translation>no se encontró ningún campo pulmonar</translation>
    </message>
    <message>
        <source>only one lung field found</source>
        <translation>solo se encontró un campo pulmonar</translation>
    </message>
    <message>
        <source>the two fields are not left and right of each other</source>
        <translation>los dos campos no están uno a la izquierda y otro a la derecha</translation>
    </message>
    <message>
        <source>the two fields do not share their height</source>
        <translation>los dos campos no están a la misma altura</translation>
    </message>
    <message>
        <source>a lung field is too small</source>
        <translation>un campo pulmonar es demasiado pequeño</translation>
    </message>
    <message>
        <source>the lung fields are too unequal</source>
        <translation>los campos pulmonares son demasiado desiguales</translation>
    </message>
    <message>
        <source>the lung fields do not share their height</source>
        <translation>los campos pulmonares no están a la misma altura</translation>
    </message>
    <message>
        <source>the segmentation is uncertain</source>
        <translation>la segmentación es dudosa</translation>
    </message>
    <message>
        <source>the lung outlines are ragged</source>
        <translation>los contornos pulmonares son irregulares</translation>
    </message>
    <message>
        <source>the lungs are not across the midline</source>
        <translation>los pulmones no están a ambos lados de la línea media</translation>
    </message>
    <message>
        <source>the lung apices are too low</source>
        <translation>los vértices pulmonares están demasiado bajos</translation>
    </message>
    <message>
        <source>the lung fields are too short</source>
        <translation>los campos pulmonares son demasiado cortos</translation>
    </message>
    <message>
        <source>the lung fields are too narrow</source>
        <translation>los campos pulmonares son demasiado estrechos</translation>
    </message>
    <message>
        <source>the lung fields are too large</source>
        <translation>los campos pulmonares son demasiado grandes</translation>
    </message>
    <message>
        <source>the body is a section floating in a flat background (CT or MR slice?)</source>
        <translation>el cuerpo es un corte que flota sobre un fondo uniforme (¿corte de TC o RM?)</translation>
    </message>
    <message>
        <source>the lungs are air-dark holes with white walls (a CT slice?)</source>
        <translation>los pulmones son huecos oscuros de aire con paredes blancas (¿un corte de TC?)</translation>
    </message>
    <message>
        <source>nothing denser than the lungs lies between them (no mediastinum)</source>
        <translation>no hay nada más denso que los pulmones entre ellos (sin mediastino)</translation>
    </message>
    <message>
        <source>lateral view</source>
        <translation>proyección lateral</translation>
    </message>
    <message>
        <source>CT slice</source>
        <translation>corte de TC</translation>
    </message>
    <message>
        <source>a photograph, not a radiograph</source>
        <translation>una fotografía, no una radiografía</translation>
    </message>
    <message>
        <source>a page or a screenshot, not a radiograph</source>
        <translation>una página o una captura de pantalla, no una radiografía</translation>
    </message>
    <message>
        <source>another modality or body part, not a chest radiograph</source>
        <translation>otra modalidad u otra región anatómica, no una radiografía de tórax</translation>
    </message>
    <message>
        <source>not a radiograph</source>
        <translation>no es una radiografía</translation>
    </message>
    <message>
        <source>file not found</source>
        <translation>archivo no encontrado</translation>
    </message>
    <message>
        <source>empty file (0 bytes)</source>
        <translation>archivo vacío (0 bytes)</translation>
    </message>
    <message>
        <source>this is a folder, not an image file</source>
        <translation>es una carpeta, no un archivo de imagen</translation>
    </message>
    <message>
        <source>cannot open file: permission denied</source>
        <translation>no se puede abrir el archivo: permiso denegado</translation>
    </message>
    <message>
        <source>not an image file (not PNG, JPEG, BMP, TIFF or DICOM)</source>
        <translation>no es un archivo de imagen (ni PNG, ni JPEG, ni BMP, ni TIFF, ni DICOM)</translation>
    </message>
    <message>
        <source>DICOM file holds no image (no Pixel Data), e.g. a report or SR</source>
        <translation>el archivo DICOM no contiene imagen (sin Pixel Data), p. ej. un informe o un SR</translation>
    </message>
    <message>
        <source>DICOM file is truncated: the image data is missing</source>
        <translation>el archivo DICOM está truncado: faltan los datos de la imagen</translation>
    </message>
    <message>
        <source>DICOM image is too large</source>
        <translation>la imagen DICOM es demasiado grande</translation>
    </message>
    <message>
        <source>not enough memory to read this image</source>
        <translation>no hay memoria suficiente para leer esta imagen</translation>
    </message>
    <message>
        <source>file is truncated or corrupt: image data ends early</source>
        <translation>el archivo está truncado o dañado: los datos de la imagen terminan antes de tiempo</translation>
    </message>
    <message>
        <source>manifest.csv split column</source>
        <translation>columna split de manifest.csv</translation>
    </message>
    <message>
        <source>train/val/test folders</source>
        <translation>carpetas train/val/test</translation>
    </message>
    <message>
        <source>class sub-folders</source>
        <translation>subcarpetas por clase</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Archivo</translation>
    </message>
    <message>
        <source>Format</source>
        <translation>Formato</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Tamaño</translation>
    </message>
    <message>
        <source>Bit depth</source>
        <translation>Profundidad de bits</translation>
    </message>
    <message>
        <source>Mode</source>
        <translation>Modo</translation>
    </message>
    <message>
        <source>File size</source>
        <translation>Tamaño del archivo</translation>
    </message>
    <message>
        <source>Modality</source>
        <translation>Modalidad</translation>
    </message>
    <message>
        <source>View position</source>
        <translation>Proyección</translation>
    </message>
    <message>
        <source>Photometric interpretation</source>
        <translation>Interpretación fotométrica</translation>
    </message>
    <message>
        <source>Body part</source>
        <translation>Región anatómica</translation>
    </message>
    <message>
        <source>Image type</source>
        <translation>Tipo de imagen</translation>
    </message>
    <message>
        <source>Bits stored</source>
        <translation>Bits almacenados</translation>
    </message>
    <message>
        <source>Manufacturer</source>
        <translation>Fabricante</translation>
    </message>
    <message>
        <source>Study date</source>
        <translation>Fecha del estudio</translation>
    </message>
    <message>
        <source>Transfer syntax</source>
        <translation>Sintaxis de transferencia</translation>
    </message>
    <message>
        <source>Patient name</source>
        <translation>Nombre del paciente</translation>
    </message>
    <message>
        <source>Patient ID</source>
        <translation>ID del paciente</translation>
    </message>
    <message>
        <source>Birth date</source>
        <translation>Fecha de nacimiento</translation>
    </message>
    <message>
        <source>one lung field is too small ({0} of the image)</source>
        <translation>un campo pulmonar es demasiado pequeño ({0} de la imagen)</translation>
    </message>
    <message>
        <source>the fields differ too much in size (ratio {0})</source>
        <translation>los campos difieren demasiado de tamaño (razón {0})</translation>
    </message>
    <message>
        <source>the segmentation is uncertain (confidence {0})</source>
        <translation>la segmentación es dudosa (confianza {0})</translation>
    </message>
    <message>
        <source>the lung outlines are ragged ({0}): the segmenter is guessing</source>
        <translation>los contornos pulmonares son irregulares ({0}): el segmentador está adivinando</translation>
    </message>
    <message>
        <source>image is too small to assess ({0} pixels)</source>
        <translation>la imagen es demasiado pequeña para evaluarla ({0} píxeles)</translation>
    </message>
    <message>
        <source>labels file {0}</source>
        <translation>archivo de etiquetas {0}</translation>
    </message>
    <message>
        <source>DICOM header: {0}</source>
        <translation>cabecera DICOM: {0}</translation>
    </message>
    <message>
        <source>only {0} positive images: the intervals are too wide to rely on (at least {1} per class are needed)</source>
        <translation>solo {0} imágenes positivas: los intervalos son demasiado amplios para fiarse de ellos (hacen falta al menos {1} por clase)</translation>
    </message>
    <message>
        <source>only {0} negative images: the intervals are too wide to rely on (at least {1} per class are needed)</source>
        <translation>solo {0} imágenes negativas: los intervalos son demasiado amplios para fiarse de ellos (hacen falta al menos {1} por clase)</translation>
    </message>
    <message>
        <source>only {0} assessed images in one class: the intervals are too wide to rely on</source>
        <translation>solo {0} imágenes evaluadas en una clase: los intervalos son demasiado amplios para fiarse de ellos</translation>
    </message>
    <message>
        <source>class sub-folders ({0} split)</source>
        <translation>subcarpetas por clase (partición {0})</translation>
    </message>
    <message>
        <source>seeded stratified split by file (seed {0})</source>
        <translation>partición estratificada por archivo con semilla (semilla {0})</translation>
    </message>
    <message>
        <source>seeded stratified split by patient group (seed {0})</source>
        <translation>partición estratificada por grupo de pacientes con semilla (semilla {0})</translation>
    </message>
</context>
</TS>
